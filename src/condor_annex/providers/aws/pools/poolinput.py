"""Checks on `annex pool` input, all made before anything is created or changed.

Each raises a one-line UsageError (exit 2) that names the flag to fix. Names follow the
annex name rule (names.py), shorter, because the seed's IAM role carries the name and
the region within IAM's 64 characters.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from botocore.exceptions import ClientError

from condor_annex.errors import UsageError
from condor_annex.names import validate_name
from condor_annex.providers.aws import naming
from condor_annex.providers.aws.annexes.instances import check_image
from condor_annex.providers.aws.annexes.workeridentity import check_policy


def _reworded(err: UsageError, old: str, new: str) -> UsageError:
    """The shared rule's message, naming what the pool commands call it."""
    return UsageError(str(err).replace(old, new))


def check_pool_name(name: str) -> str:
    try:
        validate_name(name)
    except UsageError as err:
        raise _reworded(err, "annex name", "pool name") from None
    if len(name) > naming.MAX_POOL_NAME:
        raise UsageError(
            f"pool name is {len(name)} characters long; use at most {naming.MAX_POOL_NAME}"
        )
    return name


def check_admin_cidr(text: str | None) -> str:
    """The one network that may reach the seed; never the whole internet."""
    if not text:
        raise UsageError("give --admin-cidr, the network you ssh from (for example 203.0.113.7/32)")
    try:
        network = ipaddress.IPv4Network(text.strip(), strict=True)
    except ValueError as err:
        raise UsageError(
            f"--admin-cidr {text!r} is not an IPv4 network such as 203.0.113.7/32 ({err})"
        ) from None
    if network.prefixlen == 0:
        raise UsageError(
            f"--admin-cidr {network} would open ssh to the whole internet; give the "
            "network you work from (for example 203.0.113.7/32)"
        )
    return str(network)


def check_pool_image(ec2: Any, image: str, flag: str) -> str:
    try:
        check_image(ec2, image)
    except UsageError as err:
        raise _reworded(err, "--image", flag) from None
    return image


def check_key_pair(ec2: Any, name: str) -> str:
    if not name:
        return ""
    try:
        ec2.describe_key_pairs(KeyNames=[name])
    except ClientError as err:
        if "NotFound" in err.response.get("Error", {}).get("Code", ""):
            raise UsageError(
                f"key pair {name!r} does not exist in this region; check --key-name"
            ) from None
        raise
    return name


def check_instance_policy(iam: Any, arn: str) -> str:
    if arn:
        check_policy(iam, arn)
    return arn
