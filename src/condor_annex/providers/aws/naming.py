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


def annex_role_path(region: str, pool: str) -> str:
    """Where one pool's annex roles live: a seed's policy names its own pool's path, and
    '/' cannot be in a pool id, so no pool's path is a prefix of another's."""
    return f"{iam_path(region)}pool/{pool}/"


def iam_name_prefix(region: str) -> str:
    return f"{PREFIX}-{region}-"


def reaper_role_name(region: str) -> str:
    return f"{iam_name_prefix(region)}reaper"


def worker_policy_name(region: str) -> str:
    return f"{iam_name_prefix(region)}worker"


# A pool's names: its stack, and the seed's security group, instance, address and alarm.
# templates/pool.yaml builds the same ones from its PoolName parameter.
POOL_PREFIX = f"{PREFIX}-pool-"
# IAM role names take 64 characters; `condor-annex-<longest region>-p-<pool>` fits.
MAX_POOL_NAME = 32


def pool_stack_name(pool: str) -> str:
    """One stack per pool: `condor-annex-pool-<name>` (a region's setup stack is
    `condor-annex-<region>`, and no region is called `pool-...`)."""
    return f"{POOL_PREFIX}{pool}"


def pool_of_stack(stack: str) -> str | None:
    """The pool a stack name belongs to, or None for any other stack."""
    return stack[len(POOL_PREFIX) :] if stack.startswith(POOL_PREFIX) else None


def pool_seed_name(pool: str) -> str:
    """The Name of the seed's instance, security group and Elastic IP."""
    return f"{POOL_PREFIX}{pool}-seed"


def pool_alarm_name(pool: str) -> str:
    return f"{pool_seed_name(pool)}-recovery"


def pool_role_name(region: str, pool: str) -> str:
    """The seed's role and instance profile (global IAM names, so the region is in it;
    workers' roles are `...-a-<annex>`, so the seed can never pass its own role on)."""
    return f"{iam_name_prefix(region)}p-{pool}"


def is_ours(name: str) -> bool:
    return (
        name.startswith(PREFIX)
        or name.startswith(f"/{PREFIX}")
        or name.startswith(f"/aws/lambda/{PREFIX}")
    )
