"""Names of what setup makes in one region; templates/account.yaml uses the same ones.

Everything starts with `condor-annex`, so teardown and the inventory can find it by name
as well as by the `condor-annex:managed=true` tag. IAM is global, so IAM names and paths
carry the region: setups in two regions never collide, and tearing one down leaves the
other alone.
"""

from __future__ import annotations

PREFIX = "condor-annex"
FUNCTION_NAME = f"{PREFIX}-reaper"
SCHEDULE_RULE_NAME = f"{PREFIX}-reaper-schedule"
LOG_GROUP_NAME = f"/aws/lambda/{FUNCTION_NAME}"
SECURITY_GROUP_NAME = f"{PREFIX}-workers"
LAUNCH_TEMPLATE_NAME = f"{PREFIX}-workers"


def stack_name(region: str) -> str:
    """One stack per region (a region's parts live and die together)."""
    return f"{PREFIX}-{region}"


def bucket_name(account: str, region: str) -> str:
    """Account and region make the globally unique bucket name predictable for teardown."""
    return f"{PREFIX}-{account}-{region}"


def iam_path(region: str) -> str:
    return f"/{PREFIX}/{region}/"


def iam_name_prefix(region: str) -> str:
    return f"{PREFIX}-{region}-"


def reaper_role_name(region: str) -> str:
    return f"{iam_name_prefix(region)}reaper"


def worker_policy_name(region: str) -> str:
    return f"{iam_name_prefix(region)}worker"


def is_ours(name: str) -> bool:
    return (
        name.startswith(PREFIX)
        or name.startswith(f"/{PREFIX}")
        or name.startswith(f"/aws/lambda/{PREFIX}")
    )
