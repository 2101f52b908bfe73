"""Teardown removes everything, including what the stack did not own, and the inventory
proves it. moto deletes a stack with a full bucket and leaves the bucket behind (real AWS
fails the delete), so these tests leave objects (and versions) in it on purpose.
"""

from __future__ import annotations

import json
from typing import Any

from tests.aws.test_reaper import launch

from condor_annex.providers.aws import SetupRecord, teardown
from condor_annex.providers.aws.account.inventory import KINDS, Finder, take_inventory
from condor_annex.providers.aws.account.teardown import Sweeper
from condor_annex.providers.aws.reaper import TAG_ANNEX, TAG_LEASE_END, TAG_MANAGED


def test_inventory_knows_every_kind_and_can_delete_it(session: Any) -> None:
    finder = Finder(session)
    sweeper = Sweeper(finder, lambda _m: None, 1, 0)
    for kind in KINDS:
        assert callable(getattr(finder, f"find_{kind.replace('-', '_')}"))
        assert callable(getattr(sweeper, f"delete_{kind.replace('-', '_')}"))


def test_inventory_after_setup_lists_the_parts(session: Any, record: SetupRecord) -> None:
    kinds = {r.kind for r in take_inventory(session).resources}
    assert kinds == {
        "stack",
        "bucket",
        "iam-role",
        "iam-policy",
        "lambda-function",
        "events-rule",
        "log-group",
        "security-group",
        "launch-template",
    }


def _per_annex_worker_role(session: Any, record: SetupRecord, annex: str) -> None:
    """What annex creation makes: a tagged role with the shared policy, and its profile."""
    iam = session.client("iam")
    path = f"/condor-annex/{record.region}/"
    name = f"condor-annex-{record.region}-w-{annex}"
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "ec2.amazonaws.com"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
    iam.create_role(
        RoleName=name,
        Path=path,
        AssumeRolePolicyDocument=json.dumps(trust),
        Tags=[{"Key": TAG_ANNEX, "Value": annex}],
    )
    iam.attach_role_policy(RoleName=name, PolicyArn=record.worker_policy_arn)
    iam.create_instance_profile(InstanceProfileName=name, Path=path)
    iam.add_role_to_instance_profile(InstanceProfileName=name, RoleName=name)


def test_teardown_leaves_nothing(
    session: Any, objects_allowed: SetupRecord, said: list[str]
) -> None:
    record = objects_allowed
    s3 = session.client("s3")
    ec2 = session.client("ec2")
    s3.put_bucket_versioning(Bucket=record.bucket, VersioningConfiguration={"Status": "Enabled"})
    for n in range(3):
        s3.put_object(Bucket=record.bucket, Key=f"annexes/a{n}/token", Body=b"secret")
        s3.put_object(Bucket=record.bucket, Key=f"annexes/a{n}/token", Body=b"secret2")
    s3.delete_object(Bucket=record.bucket, Key="annexes/a0/token")  # a delete marker
    launch(ec2, "a1", 2e9, count=4)
    _per_annex_worker_role(session, record, "a1")
    ec2.create_key_pair(KeyName="condor-annex-a1")
    ec2.create_launch_template(
        LaunchTemplateName="other-template",
        LaunchTemplateData={"ImageId": "ami-12345678"},
        TagSpecifications=[
            {"ResourceType": "launch-template", "Tags": [{"Key": TAG_MANAGED, "Value": "true"}]}
        ],
    )
    unrelated = ec2.run_instances(ImageId="ami-12345678", MinCount=1, MaxCount=1)["Instances"][0][
        "InstanceId"
    ]
    s3.create_bucket(Bucket="someone-elses-bucket")

    said.clear()
    inventory = teardown(session, said.append, poll=0.01)
    assert inventory.empty, inventory.lines()
    emptied = said.index("Emptying configuration bucket condor-annex-123456789012-us-east-1...")
    assert emptied < said.index("Deleting stack condor-annex-us-east-1...")
    assert said[-1] == "Nothing made by condor-annex is left in us-east-1."
    assert take_inventory(session).empty
    # what is not ours stays
    assert [b["Name"] for b in s3.list_buckets()["Buckets"]] == ["someone-elses-bucket"]
    state = ec2.describe_instances(InstanceIds=[unrelated])["Reservations"][0]["Instances"][0][
        "State"
    ]
    assert state["Name"] == "running"


def test_teardown_without_setup_and_twice(
    session: Any, record: SetupRecord, said: list[str]
) -> None:
    assert teardown(session, said.append, poll=0.01).empty
    assert teardown(session, said.append, poll=0.01).empty


def test_inventory_reports_leftovers_found_by_tag(session: Any) -> None:
    ec2 = session.client("ec2")
    ec2.create_security_group(
        GroupName="plain-name",
        Description="tagged only",
        TagSpecifications=[
            {"ResourceType": "security-group", "Tags": [{"Key": TAG_MANAGED, "Value": "true"}]}
        ],
    )
    ids = launch(ec2, "x", 2e9)
    inventory = take_inventory(session)
    assert not inventory.empty
    assert {(r.kind, r.detail) for r in inventory.resources} >= {("security-group", "plain-name")}
    assert {r.id for r in inventory.of("instance")} == set(ids)
    assert inventory.lines()[0] == "Left in us-east-1 (2):"
    assert TAG_LEASE_END  # the lease tag is what the reaper reads; inventory needs only ours


def test_teardown_empties_a_bucket_that_still_has_its_tls_policy(
    session: Any, record: SetupRecord, said: list[str]
) -> None:
    """Objects written before the policy existed; teardown must still get them out."""
    s3 = session.client("s3")
    policy = s3.get_bucket_policy(Bucket=record.bucket)["Policy"]
    s3.delete_bucket_policy(Bucket=record.bucket)
    s3.put_object(Bucket=record.bucket, Key="annexes/z/token", Body=b"t")
    s3.put_bucket_policy(Bucket=record.bucket, Policy=policy)
    assert teardown(session, said.append, poll=0.01).empty
