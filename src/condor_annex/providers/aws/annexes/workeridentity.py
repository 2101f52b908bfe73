"""One IAM role and instance profile per annex: how a worker can read only its own objects.

The setup's shared worker policy grants s3:GetObject on
`annexes/${aws:PrincipalTag/condor-annex:annex}/*`. A role's tags are its sessions'
principal tags, so a role tagged `condor-annex:annex=<name>` with that policy attached
reads `annexes/<name>/` and nothing else: a worker of `foo` cannot read `foobar`'s token
(the old tool let every worker read every pool password).

Roles live under the setup's IAM path `/condor-annex/<region>/`, so teardown and the
inventory find them by path. Making them is idempotent: a re-run reuses what exists.
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
from condor_annex.providers.aws.reaper import TAG_ANNEX, TAG_MANAGED

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
class AnnexIdentity:
    role_name: str
    profile_name: str
    profile_arn: str


def role_name(region: str, annex: str) -> str:
    """`condor-annex-<region>-a-<annex>`, shortened with a hash when over IAM's 64 chars.

    The name is only for people; the tag carries the exact annex name, and the policy
    reads the tag, so a shortened name loses nothing.
    """
    name = f"{naming.iam_name_prefix(region)}a-{annex}"
    if len(name) <= MAX_IAM_NAME:
        return name
    digest = hashlib.sha256(annex.encode()).hexdigest()[:8]
    return f"{name[: MAX_IAM_NAME - 9]}-{digest}"


def _tags(annex: str) -> list[dict[str, str]]:
    return [{"Key": TAG_ANNEX, "Value": annex}, {"Key": TAG_MANAGED, "Value": "true"}]


def _missing(err: ClientError) -> bool:
    return err.response.get("Error", {}).get("Code") == "NoSuchEntity"


def _exists(err: ClientError) -> bool:
    return err.response.get("Error", {}).get("Code") == "EntityAlreadyExists"


def ensure_annex_identity(
    iam: Any,
    region: str,
    annex: str,
    worker_policy_arn: str,
    extra_policy_arns: Sequence[str] = (),
) -> AnnexIdentity:
    """The annex's role (tagged, shared policy attached) inside its instance profile.

    `extra_policy_arns` (--instance-policy) are what the annex's jobs may do besides, for
    example read an input bucket; they go on this annex's role only.
    """
    name = role_name(region, annex)
    path = naming.iam_path(region)
    try:
        role = iam.get_role(RoleName=name)["Role"]
        tags = {t["Key"]: t["Value"] for t in role.get("Tags", [])}
        if tags.get(TAG_ANNEX) != annex:
            raise AnnexError(
                f"IAM role {name} exists but belongs to annex {tags.get(TAG_ANNEX)!r}, "
                f"not {annex!r}; delete it or pick another annex name"
            )
    except ClientError as err:
        if not _missing(err):
            raise
        iam.create_role(
            RoleName=name,
            Path=path,
            AssumeRolePolicyDocument=TRUST_POLICY,
            Description=f"condor-annex worker of annex {annex} (reads only its own objects)",
            Tags=_tags(annex),
        )
    # Attaching an attached policy is a no-op, so a re-run needs no check first.
    for arn in (worker_policy_arn, *extra_policy_arns):
        iam.attach_role_policy(RoleName=name, PolicyArn=arn)
    try:
        profile = iam.get_instance_profile(InstanceProfileName=name)["InstanceProfile"]
    except ClientError as err:
        if not _missing(err):
            raise
        profile = iam.create_instance_profile(
            InstanceProfileName=name, Path=path, Tags=_tags(annex)
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


def delete_annex_identity(iam: Any, region: str, annex: str) -> bool:
    """Remove the annex's profile and role; True if the role was there. Call once it ended."""
    name = role_name(region, annex)
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
