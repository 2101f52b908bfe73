"""A worker's HTCondor configuration: one rendering for every provider.

Providers differ only in where the files land and how the worker reaches the pool
(`network`): a loopback address locally, CCB through the seed in the cloud.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from condor_annex.templates import render


@dataclass(frozen=True)
class WorkerBundle:
    """Everything a worker of one annex needs, the same for all its workers (an elastic
    annex makes one per launch, with that launch's shape).

    `cpus`/`memory_mb` of 0 leave them to HTCondor's detection (a cloud instance of
    whichever type a fleet chose). `partitionable` makes the worker one partitionable
    slot, as elastic annexes need; plain annexes keep HTCondor's default slots.
    """

    annex_name: str
    collector: str
    uid_domain: str
    annex_domain: str
    lease_end: float
    idle_seconds: int
    cpus: int
    memory_mb: int
    token: str  # secret: written 0600, never printed
    owners: tuple[str, ...] = ()  # whose jobs may run; empty: anyone's
    partitionable: bool = False
    # For its first `reserve_seconds` in the pool the worker starts only jobs for which
    # this ClassAd expression (over TARGET, the job) holds: the jobs it was launched for,
    # so that HTCondor's matchmaking does not hand its room to jobs planned elsewhere.
    reserve: str = ""
    reserve_seconds: int = 0

    def __repr__(self) -> str:  # keep the token out of logs and tracebacks
        return f"WorkerBundle(annex_name={self.annex_name!r}, collector={self.collector!r})"


def worker_config(
    bundle: WorkerBundle,
    instance_id: str,
    local_dir: Path,
    network: str,
    update_interval: int,
    family_session: bool = True,
) -> str:
    """The worker's config. `family_session=False` is for several workers on one host,
    where the collector would mistake them for one family; such a worker then needs a
    worker-local signing key so its master can still command its own startd."""
    return render(
        "worker.config",
        local_dir=local_dir,
        collector_host=bundle.collector.split(":")[0],
        collector=bundle.collector,
        network=network,
        instance_id=instance_id,
        uid_domain=bundle.uid_domain,
        annex_domain=bundle.annex_domain,
        cpus=bundle.cpus or "$(DETECTED_CPUS_LIMIT)",
        memory_mb=bundle.memory_mb or "$(DETECTED_MEMORY)",
        partitionable=bundle.partitionable,
        annex_name=bundle.annex_name,
        idle_seconds=bundle.idle_seconds,
        update_interval=update_interval,
        family_session=family_session,
        start=worker_start(bundle),
    )


def start_expression(owners: tuple[str, ...]) -> str:
    """The annex's START: every job, or only the owners' (names are validated words)."""
    if not owners:
        return "True"
    return f'stringListMember(TARGET.Owner, "{",".join(owners)}")'


def worker_start(bundle: WorkerBundle) -> str:
    """The worker's START: the annex's, and while a reservation lasts, only its jobs."""
    start = start_expression(bundle.owners)
    if not bundle.reserve:
        return start
    since = f"(time() - MY.DaemonStartTime > {bundle.reserve_seconds})"
    return f"({start}) && (({bundle.reserve}) || {since})"


def lease_config(lease_end: float) -> str:
    """The one line a renewal rewrites; the master's shutdown expression reads it."""
    # Rounded up: a worker must never leave before the lease end the records hold.
    return f"AnnexLeaseEnd = {math.ceil(lease_end)}\n"
