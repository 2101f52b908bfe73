"""The planner's inputs: idle demand (one entry per autocluster) and the workers there are.

Plain dataclasses, so the controller builds them from htcondor2 queries (a schedd's
`QueryOpt.AutoCluster` ads, partitionable slot ads, the provider's instances) and the
replay simulator builds them from its model of a pool.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import classad2

from condor_annex.planning.catalogue import Resources, WorkerType


def _number(ad: classad2.ClassAd, attribute: str, default: float) -> float:
    """An attribute evaluated in the ad (RequestMemory is often an expression); a value that
    is missing, undefined or not a number reads as the default."""
    if attribute not in ad:
        return default
    value: Any = ad.eval(attribute)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return default
    return float(value)


@dataclass(frozen=True)
class IdleAutocluster:
    """Idle jobs that HTCondor treats alike (one autocluster of one schedd).

    `id` must be unique across schedds (say "schedd-name/AutoClusterId"). `ad` is the
    autocluster ad as `Schedd.query(opts=QueryOpt.AutoCluster)` returns it: its
    Requirements and the attributes they and the annex's START refer to (Owner).
    `jobs` counts only jobs the negotiator has already had a cycle to match.
    """

    id: str
    ad: classad2.ClassAd = field(compare=False, repr=False)
    jobs: int
    request: Resources

    @classmethod
    def from_ad(
        cls, ad: classad2.ClassAd, schedd: str = "", jobs: int | None = None
    ) -> IdleAutocluster:
        """Read an autocluster ad: AutoClusterId, JobCount and the Request* attributes.

        HTCondor's RequestDisk is KiB and RequestMemory MiB; a job asks for at least 1 CPU.
        """
        cluster = int(_number(ad, "AutoClusterId", -1))
        count = jobs if jobs is not None else int(_number(ad, "JobCount", 0))
        request = Resources(
            cpus=max(1, math.ceil(_number(ad, "RequestCpus", 1))),
            memory_mb=max(0, math.ceil(_number(ad, "RequestMemory", 0))),
            disk_mb=max(0, math.ceil(_number(ad, "RequestDisk", 0) / 1024)),
            gpus=max(0, math.ceil(_number(ad, "RequestGPUs", 0))),
        )
        name = f"{schedd}/{cluster}" if schedd else str(cluster)
        return cls(name, ad, count, request)


@dataclass(frozen=True)
class Worker:
    """One annex worker, running or still starting (in flight).

    `type` is its shape: the catalogue's WorkerType when the provider knows it, else one
    built from the partitionable slot's totals. `free` is the slot's unclaimed room (for an
    in-flight worker, the whole shape). `claimed` is True while any dynamic slot exists.
    Times are seconds since the epoch (or any clock the caller uses for `now`).
    """

    id: str
    type: WorkerType
    free: Resources
    claimed: bool = False
    started_at: float = 0.0
    unclaimed_since: float | None = None
    draining: bool = False
    in_flight: bool = False
    launched_at: float | None = None

    @classmethod
    def starting(cls, id: str, type: WorkerType, launched_at: float) -> Worker:
        """A worker the provider is still starting: all of its room is coming."""
        return cls(
            id,
            type,
            type.resources,
            started_at=launched_at,
            in_flight=True,
            launched_at=launched_at,
        )
