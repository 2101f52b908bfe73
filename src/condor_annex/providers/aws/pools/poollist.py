"""What `annex pool list` and `annex pool create` tell the user about pools in the cloud.

A listing costs two calls whatever the number of pools: one stack listing and one
tag-filtered DescribeInstances that finds every pool's seed and annex workers.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any

from condor_annex.providers.aws.annexes.instances import LIVE_STATES
from condor_annex.providers.aws.awserrors import aws_errors
from condor_annex.providers.aws.pools.poolmembers import Members, pool_members
from condor_annex.providers.aws.pools.poolrecord import CloudPool, list_pools

COLLECTOR_PORT = 9618


@dataclass(frozen=True)
class PoolSummary:
    name: str
    region: str
    status: str
    control_image: str
    worker_image: str
    seed_instance_id: str
    seed_address: str
    seed_dns: str
    annexes: dict[str, int] = field(default_factory=dict)  # annex -> live workers

    @property
    def workers(self) -> int:
        return sum(self.annexes.values())

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "workers": self.workers}


def _summary(pool: CloudPool, members: Members) -> PoolSummary:
    return PoolSummary(
        name=pool.name,
        region=pool.region,
        status=pool.status,
        control_image=pool.control_image,
        worker_image=pool.worker_image,
        seed_instance_id=pool.seed_instance_id,
        seed_address=pool.seed_address,
        seed_dns=members.public_dns,
        annexes=dict(sorted(Counter(w.annex for w in members.workers).items())),
    )


@aws_errors
def pool_summaries(session: Any) -> list[PoolSummary]:
    pools = sorted(list_pools(session), key=lambda p: p.name)
    known = {p.name: [p.seed_address] if p.seed_address else [] for p in pools}
    members = pool_members(session.client("ec2"), known, LIVE_STATES, known)
    return [_summary(p, members[p.name]) for p in pools]


@aws_errors
def pool_summary(session: Any, pool: CloudPool) -> PoolSummary:
    known = {pool.name: [pool.seed_address] if pool.seed_address else []}
    members = pool_members(session.client("ec2"), known, LIVE_STATES, known)
    return _summary(pool, members[pool.name])


def how_to_use(pool: CloudPool, summary: PoolSummary, workers: int) -> list[str]:
    """What to type next: log in, submit, add workers (on the seed, which holds the
    pool's signing key; the tool never copies that key off the seed)."""
    key = pool.parameters.get("KeyName", "")
    ssh = f"ssh -i ~/.ssh/{key}.pem" if key else "ssh"
    name = summary.seed_dns or summary.seed_address
    policy = f" --instance-policy {pool.instance_policy}" if pool.instance_policy else ""
    return [
        f"Pool {pool.name} is ready: seed {pool.seed_instance_id} at {pool.seed_address}"
        + (f" ({summary.seed_dns})." if summary.seed_dns else "."),
        "Log in from the admin network (the login name is the image's, e.g. admin on Debian):",
        f"  {ssh} admin@{pool.seed_address}",
        "Submit jobs there as usual:",
        "  condor_submit job.sub",
        f"Add workers from there (the worker image {pool.worker_image} is the default):",
        f"  annex create {pool.name}-workers --count {workers} --duration 2h "
        f"--pool-address {name}:{COLLECTOR_PORT}{policy}",
    ]
