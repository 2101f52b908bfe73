"""One IAM role and instance profile per annex: how a worker can read only its own objects.

The setup's shared worker policy grants s3:GetObject on
`annexes/${aws:PrincipalTag/condor-annex:pool}/${aws:PrincipalTag/condor-annex:annex}/*`.
A role's tags are its sessions' principal tags, so a role tagged with its pool's id and
annex name, with that policy attached, reads `annexes/<pool>/<name>/` and nothing else: a
worker of `foo` cannot read `foobar`'s token, nor another pool's `foo`'s (the old tool
let every worker read every pool password).

Every role carries the setup's permissions boundary, so no policy attached to it (an
--instance-policy) can add IAM, the tool's tags, or another annex's objects; a seed may
create roles only with it. Roles live under `/condor-annex/<region>/pool/<pool>/`, so
teardown and the inventory find them by path, and a seed's policy names its own pool's.
Making them is idempotent: a re-run reuses what exists.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from condor_annex.errors import AnnexError, UsageError
from condor_annex.providers.aws import naming
from condor_annex.providers.aws.reaper import TAG_ANNEX, TAG_MANAGED, TAG_POOL

MAX_IAM_NAME = 64  # role and instance profile names
TRUST_POLICY = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "ec2.amazonaws.com"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
)


@dataclass(frozen=True)
class WorkerPolicies:
    """The setup's two policies every annex role gets: the shared worker policy, and the
    permissions boundary (its explicit denies hold whatever else is attached)."""

    worker_arn: str
    boundary_arn: str


@dataclass(frozen=True)
class AnnexIdentity:
    role_name: str
    profile_name: str
    profile_arn: str


def role_name(region: str, pool: str, annex: str) -> str:
    """`condor-annex-<region>-a-<annex>-<hash of pool and annex>`, the annex part
    shortened to fit IAM's 64 characters. Role names are unique in the whole account,
    and two pools may both have an annex `foo`: the hash keeps them apart.

    The name is only for people; the tags carry the exact pool and annex, and the policy
    reads the tags, so a shortened name loses nothing.
    """
    digest = hashlib.sha256(f"{pool}/{annex}".encode()).hexdigest()[:8]
    head = f"{naming.iam_name_prefix(region)}a-"
    return f"{head}{annex[: MAX_IAM_NAME - len(head) - 9]}-{digest}"


def _tags(pool: str, annex: str) -> list[dict[str, str]]:
    return [
        {"Key": TAG_POOL, "Value": pool},
        {"Key": TAG_ANNEX, "Value": annex},
        {"Key": TAG_MANAGED, "Value": "true"},
    ]


def _missing(err: ClientError) -> bool:
    return err.response.get("Error", {}).get("Code") == "NoSuchEntity"


def _exists(err: ClientError) -> bool:
    return err.response.get("Error", {}).get("Code") == "EntityAlreadyExists"


def ensure_annex_identity(
    iam: Any,
    region: str,
    pool: str,
    annex: str,
    policies: WorkerPolicies,
    extra_policy_arns: Sequence[str] = (),
) -> AnnexIdentity:
    """The annex's role (tagged, bounded, shared policy attached) inside its instance
    profile.

    `extra_policy_arns` (--instance-policy) are what the annex's jobs may do besides, for
    example read an input bucket; they go on this annex's role only, within its boundary.
    """
    name = role_name(region, pool, annex)
    path = naming.annex_role_path(region, pool)
    try:
        role = iam.get_role(RoleName=name)["Role"]
        tags = {t["Key"]: t["Value"] for t in role.get("Tags", [])}
        if (tags.get(TAG_POOL), tags.get(TAG_ANNEX)) != (pool, annex):
            raise AnnexError(
                f"IAM role {name} exists but belongs to annex {tags.get(TAG_ANNEX)!r} of pool "
                f"{tags.get(TAG_POOL)!r}, not {annex!r}; delete it or pick another annex name"
            )
    except ClientError as err:
        if not _missing(err):
            raise
        iam.create_role(
            RoleName=name,
            Path=path,
            AssumeRolePolicyDocument=TRUST_POLICY,
            Description=f"condor-annex worker of annex {annex} (reads only its own objects)",
            PermissionsBoundary=policies.boundary_arn,
            Tags=_tags(pool, annex),
        )
    # Attaching an attached policy is a no-op, so a re-run needs no check first.
    for arn in (policies.worker_arn, *extra_policy_arns):
        iam.attach_role_policy(RoleName=name, PolicyArn=arn)
    try:
        profile = iam.get_instance_profile(InstanceProfileName=name)["InstanceProfile"]
    except ClientError as err:
        if not _missing(err):
            raise
        profile = iam.create_instance_profile(
            InstanceProfileName=name, Path=path, Tags=_tags(pool, annex)
        )["InstanceProfile"]
    if name not in {r["RoleName"] for r in profile.get("Roles", [])}:
        try:
            iam.add_role_to_instance_profile(InstanceProfileName=name, RoleName=name)
        except ClientError as err:
            if not _exists(err) and "LimitExceeded" not in str(err):
                raise
    return AnnexIdentity(role_name=name, profile_name=name, profile_arn=profile["Arn"])


POLICY_ARN = re.compile(r"^arn:aws[a-z-]*:iam::(\d{12}|aws):policy/[\w+=,.@/-]+$")


def check_policy(iam: Any, arn: str) -> None:
    """An --instance-policy must be a managed policy that exists, or every launch fails."""
    if not POLICY_ARN.match(arn):
        raise UsageError(f"{arn!r} is not an IAM policy ARN (arn:aws:iam::ACCOUNT:policy/NAME)")
    try:
        iam.get_policy(PolicyArn=arn)
    except ClientError as err:
        if _missing(err):
            raise UsageError(f"IAM policy {arn} does not exist; check --instance-policy") from None
        raise


def _ignore_missing(call: Any, **kwargs: Any) -> bool:
    """Run one IAM call; False when what it acts on is already gone."""
    try:
        call(**kwargs)
    except ClientError as err:
        if _missing(err):
            return False
        raise
    return True


def delete_annex_identity(iam: Any, region: str, pool: str, annex: str) -> bool:
    """Remove the annex's profile and role; True if the role was there. Call once it ended."""
    name = role_name(region, pool, annex)
    _ignore_missing(iam.remove_role_from_instance_profile, InstanceProfileName=name, RoleName=name)
    _ignore_missing(iam.delete_instance_profile, InstanceProfileName=name)
    try:
        attached = iam.list_attached_role_policies(RoleName=name)["AttachedPolicies"]
    except ClientError as err:
        if _missing(err):
            return False
        raise
    for policy in attached:
        _ignore_missing(iam.detach_role_policy, RoleName=name, PolicyArn=policy["PolicyArn"])
    return _ignore_missing(iam.delete_role, RoleName=name)
