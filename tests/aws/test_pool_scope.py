"""A seed's role covers its own pool only, and a worker reads its own annex only.

moto evaluates no IAM, so the templates' policies are judged by tests/aws/iameval.py
(Conditions and Resources included) against the requests the seed or a stolen worker
credential would send. Each request names the pool it reaches: `p1` is the seed's own,
`p2` another pool in the same account (a laptop's, or another seed's).
"""

from __future__ import annotations

from typing import Any

import pytest

from .iameval import Request, evaluate, load_template, resolve, role_policies

ACCOUNT = "123456789012"
REGION = "us-east-1"
BUCKET = f"condor-annex-{ACCOUNT}-{REGION}"
BUCKET_ARN = f"arn:aws:s3:::{BUCKET}"
BOUNDARY = (
    f"arn:aws:iam::{ACCOUNT}:policy/condor-annex/{REGION}/condor-annex-{REGION}-worker-boundary"
)
EC2 = f"arn:aws:ec2:{REGION}:{ACCOUNT}"
ROLES = f"arn:aws:iam::{ACCOUNT}:role/condor-annex/{REGION}/pool"
PSEUDO = {"AWS::Region": REGION, "AWS::AccountId": ACCOUNT}


@pytest.fixture(scope="module")
def seed() -> list[dict[str, Any]]:
    params = {
        **PSEUDO,
        "AWS::StackId": f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/p1/1",
        "PoolName": "p1",
        "ConfigBucket": BUCKET,
        "WorkerSecurityGroupId": "sg-1",
        "WorkerPolicyArn": f"arn:aws:iam::{ACCOUNT}:policy/worker",
        "WorkerBoundaryArn": BOUNDARY,
        "ImageOwners": "amazon",
        "InstancePolicyArn": "",
    }
    return role_policies(
        load_template("pool.yaml"), "SeedRole", params, {"HasInstancePolicy": False}
    )


def verdict(documents: list[dict[str, Any]], action: str, resource: str, **context: Any) -> str:
    return evaluate(documents, Request(action, resource, context))


# -- objects: a seed writes only its pool's; lease.config is root on a worker ---------------
def test_seed_writes_only_its_own_pools_objects(seed: list[dict[str, Any]]) -> None:
    mine, theirs = (
        f"{BUCKET_ARN}/annexes/p1/a/lease.config",
        f"{BUCKET_ARN}/annexes/p2/a/lease.config",
    )
    assert verdict(seed, "s3:PutObject", mine) == "allow"
    assert verdict(seed, "s3:PutObject", theirs) == "implicit-deny"
    assert verdict(seed, "s3:DeleteObject", theirs) == "implicit-deny"
    # A pool whose name starts like this one's is another pool.
    assert verdict(seed, "s3:PutObject", f"{BUCKET_ARN}/annexes/p10/a/token") == "implicit-deny"
    assert verdict(seed, "s3:GetObject", f"{BUCKET_ARN}/annexes/p2/a/token") == "implicit-deny"
    assert verdict(seed, "s3:ListBucket", BUCKET_ARN, **{"s3:prefix": "annexes/p2/"}) == (
        "implicit-deny"
    )
    assert verdict(seed, "s3:ListBucket", BUCKET_ARN, **{"s3:prefix": "annexes/p1/a/"}) == "allow"


# -- roles: created bounded, under the pool's path, tagged for the pool ---------------------
def test_seed_creates_only_bounded_roles_of_its_own_pool(seed: list[dict[str, Any]]) -> None:
    role = f"{ROLES}/p1/condor-annex-{REGION}-a-x-0123abcd"
    bounded = {"iam:PermissionsBoundary": BOUNDARY}
    assert verdict(seed, "iam:CreateRole", role, **bounded) == "allow"
    assert verdict(seed, "iam:CreateRole", role) == "implicit-deny"
    other = f"arn:aws:iam::{ACCOUNT}:policy/admin-ish"
    assert verdict(seed, "iam:CreateRole", role, **{"iam:PermissionsBoundary": other}) == (
        "implicit-deny"
    )
    assert verdict(seed, "iam:CreateRole", f"{ROLES}/p2/x", **bounded) == "implicit-deny"
    # No way to lift the boundary afterwards.
    for action in ("iam:DeleteRolePermissionsBoundary", "iam:PutRolePermissionsBoundary"):
        assert verdict(seed, action, role) == "implicit-deny"


def test_seed_tags_roles_only_as_its_own_pools(seed: list[dict[str, Any]]) -> None:
    """Role tags are the worker's principal tags, which pick the objects it may read."""
    role = f"{ROLES}/p1/condor-annex-{REGION}-a-x-0123abcd"
    keys = ["condor-annex:pool", "condor-annex:annex", "condor-annex:managed"]
    ours = {"aws:RequestTag/condor-annex:pool": "p1", "aws:TagKeys": keys}
    assert verdict(seed, "iam:TagRole", role, **ours) == "allow"
    theirs = {"aws:RequestTag/condor-annex:pool": "p2", "aws:TagKeys": keys}
    assert verdict(seed, "iam:TagRole", role, **theirs) == "implicit-deny"
    extra = {**ours, "aws:TagKeys": [*keys, "anything-else"]}
    assert verdict(seed, "iam:TagRole", role, **extra) == "implicit-deny"
    assert verdict(seed, "iam:UntagRole", role, **{"aws:TagKeys": ["condor-annex:pool"]}) == (
        "implicit-deny"
    )


def test_seed_passes_and_attaches_only_its_own_pools_roles(seed: list[dict[str, Any]]) -> None:
    to_ec2 = {"iam:PassedToService": "ec2.amazonaws.com"}
    assert verdict(seed, "iam:PassRole", f"{ROLES}/p1/r", **to_ec2) == "allow"
    assert verdict(seed, "iam:PassRole", f"{ROLES}/p2/r", **to_ec2) == "implicit-deny"
    worker = {"iam:PolicyARN": f"arn:aws:iam::{ACCOUNT}:policy/worker"}
    assert verdict(seed, "iam:AttachRolePolicy", f"{ROLES}/p2/r", **worker) == "implicit-deny"
    assert verdict(seed, "iam:DeleteRole", f"{ROLES}/p2/r") == "implicit-deny"


# -- instances: launched tagged, IMDSv2, from trusted images; ended and renewed in-pool ------
LAUNCH_TAGS = {
    "aws:RequestTag/condor-annex:managed": "true",
    "aws:RequestTag/condor-annex:pool": "p1",
    "aws:RequestTag/condor-annex:annex": "a",
    "aws:RequestTag/condor-annex:lease-end": "1900000000",
}


def test_seed_launches_only_leased_imdsv2_instances_of_its_own_pool(
    seed: list[dict[str, Any]],
) -> None:
    instance = f"{EC2}:instance/*"
    ok = {**LAUNCH_TAGS, "ec2:MetadataHttpTokens": "required"}
    assert verdict(seed, "ec2:RunInstances", instance, **ok) == "allow"
    assert verdict(seed, "ec2:RunInstances", instance, **LAUNCH_TAGS) == "implicit-deny"
    optional = {**ok, "ec2:MetadataHttpTokens": "optional"}
    assert verdict(seed, "ec2:RunInstances", instance, **optional) == "implicit-deny"
    for missing in ("condor-annex:annex", "condor-annex:lease-end", "condor-annex:pool"):
        without = {k: v for k, v in ok.items() if k != f"aws:RequestTag/{missing}"}
        assert verdict(seed, "ec2:RunInstances", instance, **without) == "implicit-deny", missing
    other_pool = {**ok, "aws:RequestTag/condor-annex:pool": "p2"}
    assert verdict(seed, "ec2:RunInstances", instance, **other_pool) == "implicit-deny"
    volume = f"{EC2}:volume/*"
    assert verdict(seed, "ec2:RunInstances", volume, **LAUNCH_TAGS) == "allow"
    assert verdict(seed, "ec2:RunInstances", volume, **other_pool) == "implicit-deny"


def test_seed_launches_only_this_accounts_and_the_configured_owners_images(
    seed: list[dict[str, Any]],
) -> None:
    image = f"arn:aws:ec2:{REGION}::image/ami-1"
    assert verdict(seed, "ec2:RunInstances", image, **{"ec2:Owner": ACCOUNT}) == "allow"
    assert verdict(seed, "ec2:RunInstances", image, **{"ec2:Owner": "amazon"}) == "allow"
    stranger = {"ec2:Owner": "999999999999"}
    assert verdict(seed, "ec2:RunInstances", image, **stranger) == "implicit-deny"
    assert verdict(seed, "ec2:CreateFleet", image, **stranger) == "implicit-deny"


def test_seed_ends_and_renews_only_its_own_pools_instances(seed: list[dict[str, Any]]) -> None:
    instance = f"{EC2}:instance/i-1"
    ours, theirs = (
        {"aws:ResourceTag/condor-annex:pool": "p1"},
        {"aws:ResourceTag/condor-annex:pool": "p2"},
    )
    assert verdict(seed, "ec2:TerminateInstances", instance, **ours) == "allow"
    assert verdict(seed, "ec2:TerminateInstances", instance, **theirs) == "implicit-deny"
    assert verdict(seed, "ec2:DeleteFleets", f"{EC2}:fleet/f-1", **theirs) == "implicit-deny"
    lease = {"aws:TagKeys": ["condor-annex:lease-end"]}
    assert verdict(seed, "ec2:CreateTags", instance, **ours, **lease) == "allow"
    assert verdict(seed, "ec2:CreateTags", instance, **theirs, **lease) == "implicit-deny"
    # Re-tagging to leave the pool (or the reaper's sight) is not renewing.
    for keys in (["condor-annex:pool"], ["condor-annex:annex"], ["condor-annex:lease-end", "x"]):
        tags = {"aws:TagKeys": keys}
        assert verdict(seed, "ec2:CreateTags", instance, **ours, **tags) == "implicit-deny", keys
    assert verdict(seed, "ec2:DeleteTags", instance, **ours, **lease) == "implicit-deny"


# -- a worker's credentials: its own annex of its own pool ----------------------------------
def _worker_documents() -> list[dict[str, Any]]:
    template = load_template("account.yaml")
    attributes = {"ConfigBucket.Arn": BUCKET_ARN}
    policy = role_policies(template, "WorkerPolicy", PSEUDO, attributes=attributes)
    bucket = template["Resources"]["ConfigBucketPolicy"]["Properties"]["PolicyDocument"]
    return [*policy, resolve(bucket, {**PSEUDO}, attributes=attributes)]


def test_a_workers_credentials_read_only_its_own_pools_annex() -> None:
    documents = _worker_documents()
    worker = {
        "aws:PrincipalTag/condor-annex:pool": "p1",
        "aws:PrincipalTag/condor-annex:annex": "foo",
        "aws:SecureTransport": "true",
    }
    own = f"{BUCKET_ARN}/annexes/p1/foo/token"
    assert verdict(documents, "s3:GetObject", own, **worker) == "allow"
    # Another pool's annex of the same name: denied by the bucket policy, whatever the
    # role's other policies allow.
    assert verdict(documents, "s3:GetObject", f"{BUCKET_ARN}/annexes/p2/foo/token", **worker) == (
        "deny"
    )
    assert verdict(
        documents, "s3:GetObject", f"{BUCKET_ARN}/annexes/p1/foobar/token", **worker
    ) == ("deny")
    assert verdict(documents, "s3:PutObject", own, **worker) == "deny"
