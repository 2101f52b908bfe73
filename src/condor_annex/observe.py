"""What an elastic annex's controller sees of the pool, through the official bindings.

- Demand: the idle jobs of every user in every schedd, grouped (with their count) by all
  that a match depends on: Owner, Requirements, the Request* attributes, and whatever job
  attributes those refer to. The schedd does the grouping (`QueryOpt.GroupBy`), so the
  cost follows the groups, not the jobs. Only jobs the negotiator has had a cycle to match
  count: those submitted before the start of its last cycle (`LastNegotiationCycleTime0`
  in its ad), less those matched a moment ago and on their way to a slot.
  (The schedd's own autoclusters, `QueryOpt.AutoCluster`, are not used: a schedd makes
  them only while negotiating, which it never does in a pool with no slots, so an annex
  at zero workers would never see its first job.)
- Supply: the annex's partitionable slots (free Cpus, Memory, Disk, GPUs; claimed while
  any dynamic slot exists; since when it has had none; draining), and the workers the
  records hold that are still starting (in flight). The planner counts one past its boot
  timeout as failed, not as coming.
"""

from __future__ import annotations

import hashlib
import math
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import classad2
import htcondor2

from condor_annex.lifecycle import WorkerState
from condor_annex.model import AnnexRecord, WorkerRecord
from condor_annex.planning import IdleAutocluster, Resources, Worker, WorkerType
from condor_annex.poolquery import annex_constraint

LAST_CYCLE = "LastNegotiationCycleTime0"
IDLE = 1  # JobStatus
# What idle jobs are grouped by: what a match with a worker depends on (more keys join
# when the expressions refer to other job attributes).
SHAPE_KEYS = ("Requirements", "RequestCpus", "RequestMemory", "RequestDisk", "RequestGPUs")
GROUP_KEYS = ("Owner", "JobStatus", *SHAPE_KEYS)
MAX_KEY_ROUNDS = 4
# An idle job matched this recently is on its way to a slot, not waiting for one.
MATCH_GRACE = 60.0
POINT_ATTRS = [
    "AnnexInstanceID",
    "Cpus",
    "Memory",
    "Disk",
    "GPUs",
    "TotalCpus",
    "TotalMemory",
    "TotalDisk",
    "TotalGPUs",
    "NumDynamicSlots",
    "NumDynamicSlotsTime",
    "DaemonStartTime",
    "Draining",
    "Arch",
    "OpSys",
]


def _number(ad: classad2.ClassAd, attribute: str, default: float = 0.0) -> float:
    value: Any = ad.get(attribute, default)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return default
    return float(value)


# -- demand ----------------------------------------------------------------------------
def negotiation_cutoff(collector: str) -> float | None:
    """When the negotiator's last cycle started (the latest of several negotiators); None
    before any cycle, when no idle job can count yet."""
    ads = htcondor2.Collector(collector).query(htcondor2.AdType.Negotiator, projection=[LAST_CYCLE])
    times = [_number(ad, LAST_CYCLE) for ad in ads if _number(ad, LAST_CYCLE) > 0]
    return max(times, default=None)


def _key(ad: classad2.ClassAd, keys: Sequence[str]) -> tuple[str, ...]:
    return tuple(str(ad.lookup(k)) if k in ad else "" for k in keys)


def _job_refs(ad: classad2.ClassAd) -> set[str]:
    """Job attributes that the group's Requirements and Request* refer to but the group
    does not hold (the default RequestMemory refers to ImageSize and MemoryUsage)."""
    refs: set[str] = set()
    for attribute in SHAPE_KEYS:
        if attribute in ad:
            for ref in ad.externalRefs(ad.lookup(attribute)):
                scope, _, name = ref.rpartition(".")
                if name and scope.upper() in ("", "MY"):
                    refs.add(name)
    return refs


def _idle_groups(schedd: htcondor2.Schedd) -> tuple[list[str], list[classad2.ClassAd]]:
    """Idle jobs grouped by the schedd by everything a match depends on: the group-by
    keys grow until they hold every job attribute the groups' expressions refer to."""
    keys = list(GROUP_KEYS)
    for _ in range(MAX_KEY_ROUNDS):
        groups = schedd.query(
            constraint=f"JobStatus == {IDLE}", projection=keys, opts=htcondor2.QueryOpt.GroupBy
        )
        known = {k.lower() for k in keys}
        missing = sorted({r for g in groups for r in _job_refs(g) if r.lower() not in known})
        if not missing:
            break
        keys += missing
    return keys, list(groups)


def _group_id(schedd: str, group: IdleAutocluster, keys: Sequence[str]) -> str:
    """A stable name that says what the jobs ask for: schedd/owner/2cpu-1536MB-<digest>."""
    digest = hashlib.sha256("\n".join(_key(group.ad, keys)).encode()).hexdigest()[:6]
    r = group.request
    return f"{schedd}/{group.ad.get('Owner', '')}/{r.cpus}cpu-{r.memory_mb}MB-{digest}"


def idle_demand(collector: str, cutoff: float | None, now: float) -> list[IdleAutocluster]:
    """Unmet demand in every schedd the collector knows, of every user."""
    if cutoff is None:
        return []
    demand: list[IdleAutocluster] = []
    for location in htcondor2.Collector(collector).locateAll(htcondor2.DaemonType.Schedd):
        schedd = htcondor2.Schedd(location)
        keys, groups = _idle_groups(schedd)
        if not groups:
            continue
        counts = Counter({_key(g, keys): int(g.get("JobCount", 0)) for g in groups})
        # Not unmet yet: jobs too new for a negotiation cycle, and jobs matched a moment
        # ago that are on their way to a slot.
        for job in schedd.query(
            constraint=f"JobStatus == {IDLE} && (QDate >= {math.floor(cutoff)}"
            f" || LastMatchTime >= {math.floor(now - MATCH_GRACE)})",
            projection=keys,
        ):
            counts[_key(job, keys)] -= 1
        name = str(location.get("Name", "schedd"))
        for group in groups:
            jobs = counts[_key(group, keys)]
            if jobs <= 0:
                continue
            ad = classad2.ClassAd()
            for k in keys:
                if k in group:
                    ad[k] = group.lookup(k)
            found = IdleAutocluster.from_ad(ad, name, jobs)
            demand.append(replace(found, id=_group_id(name, found, keys)))
    return demand


# -- supply ----------------------------------------------------------------------------
@dataclass(frozen=True)
class ExecutePoint:
    """One annex worker's partitionable slot, as the collector holds it."""

    instance_id: str
    free: Resources
    total: Resources
    claimed: bool
    started_at: float
    unclaimed_since: float | None
    draining: bool
    arch: str = "X86_64"
    opsys: str = "LINUX"


def _resources(ad: classad2.ClassAd, prefix: str = "") -> Resources:
    return Resources(
        cpus=int(_number(ad, f"{prefix}Cpus")),
        memory_mb=int(_number(ad, f"{prefix}Memory")),
        disk_mb=int(_number(ad, f"{prefix}Disk") // 1024),  # HTCondor's Disk is KiB
        gpus=int(_number(ad, f"{prefix}GPUs")),
    )


def execute_points(collector: str, annex: str) -> dict[str, ExecutePoint]:
    """The annex's partitionable slots, by worker (AnnexInstanceID)."""
    ads = htcondor2.Collector(collector).query(
        htcondor2.AdType.Startd,
        constraint=f"{annex_constraint(annex)} && PartitionableSlot =?= True",
        projection=POINT_ATTRS,
    )
    points = {}
    for ad in ads:
        dynamic = int(_number(ad, "NumDynamicSlots"))
        point = ExecutePoint(
            instance_id=str(ad.get("AnnexInstanceID", "")),
            free=_resources(ad),
            total=_resources(ad, "Total"),
            claimed=dynamic > 0,
            started_at=_number(ad, "DaemonStartTime"),
            unclaimed_since=None if dynamic else _number(ad, "NumDynamicSlotsTime") or None,
            draining=ad.get("Draining") is True,
            arch=str(ad.get("Arch", "X86_64")),
            opsys=str(ad.get("OpSys", "LINUX")),
        )
        points[point.instance_id] = point
    return points


def point_type(point: ExecutePoint, price: float) -> WorkerType:
    """A worker's shape as its slot reports it (when the catalogue no longer lists it)."""
    t = point.total
    return WorkerType(
        f"{t.cpus}x{t.memory_mb}M",
        t.cpus,
        t.memory_mb,
        disk_mb=t.disk_mb,
        gpus=t.gpus,
        price_per_hour=price,
        arch=point.arch,
        opsys=point.opsys,
    )


TypeOf = Callable[[WorkerRecord, "ExecutePoint | None"], WorkerType]


def supply(
    record: AnnexRecord,
    points: Mapping[str, ExecutePoint],
    type_of: TypeOf,
    releasing: Sequence[str] = (),
) -> list[Worker]:
    """The planner's view of the annex's live workers: in the pool (with their free room),
    or still starting (in flight, their whole shape coming). A worker that was in the pool
    and is no longer (leaving) offers no room and is not coming either; neither is one the
    controller is releasing."""
    workers = []
    for w in record.live_workers:
        point = points.get(w.id)
        worker_type = type_of(w, point)
        launched = w.started_at or record.created_at
        if point is not None:
            workers.append(
                Worker(
                    w.id,
                    worker_type,
                    point.free,
                    claimed=point.claimed,
                    started_at=launched,
                    unclaimed_since=point.unclaimed_since,
                    draining=point.draining or w.id in releasing,
                )
            )
        elif w.state == WorkerState.RUNNING or w.id in releasing:
            workers.append(
                Worker(w.id, worker_type, Resources(), started_at=launched, draining=True)
            )
        else:
            workers.append(Worker.starting(w.id, worker_type, launched))
    return workers
