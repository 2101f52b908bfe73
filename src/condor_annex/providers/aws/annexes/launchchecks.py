"""Checks of a launch's network and access choices, before anything is made.

A key pair must exist; extra security groups and the subnets a spot fleet config names
must exist and be in the setup's VPC (a security group and a subnet of different VPCs
make every launch fail, after the annex's role and objects were made).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from botocore.exceptions import ClientError

from condor_annex.errors import UsageError


def _code(err: ClientError) -> str:
    return str(err.response.get("Error", {}).get("Code", ""))


def check_key_pair(ec2: Any, name: str) -> None:
    try:
        ec2.describe_key_pairs(KeyNames=[name])
    except ClientError as err:
        if "InvalidKeyPair" not in _code(err):
            raise
        raise UsageError(
            f"key pair {name!r} does not exist in this region; check --key-name"
        ) from None


def _vpc_of_groups(ec2: Any, ids: Sequence[str]) -> dict[str, str]:
    try:
        groups = ec2.describe_security_groups(GroupIds=list(ids))["SecurityGroups"]
    except ClientError as err:
        if "InvalidGroup" not in _code(err) and "Malformed" not in _code(err):
            raise
        raise UsageError(
            f"security group {', '.join(ids)}: {err.response['Error'].get('Message', '')}; "
            "check --security-group"
        ) from None
    return {g["GroupId"]: g.get("VpcId", "") for g in groups}


def check_network(
    ec2: Any, setup_group: str, extra_groups: Sequence[str], subnets: Sequence[str]
) -> None:
    """Extra groups and subnets exist and share the setup group's VPC."""
    if not extra_groups and not subnets:
        return
    vpcs = _vpc_of_groups(ec2, [setup_group, *extra_groups])
    home = vpcs[setup_group]
    for group in extra_groups:
        if vpcs.get(group) != home:
            raise UsageError(
                f"security group {group} is not in the setup's VPC ({home}); check --security-group"
            )
    if not subnets:
        return
    try:
        found = ec2.describe_subnets(SubnetIds=list(subnets))["Subnets"]
    except ClientError as err:
        if "InvalidSubnet" not in _code(err):
            raise
        raise UsageError(f"subnet: {err.response['Error'].get('Message', '')}") from None
    for subnet in found:
        if subnet.get("VpcId") != home:
            raise UsageError(
                f"subnet {subnet['SubnetId']} is not in the setup's VPC ({home}), where "
                "the workers' security group is"
            )
