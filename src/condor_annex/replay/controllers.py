"""What decides the pool's size in a replay: ours (the planner) and three baselines.

Each controller acts at loop ticks (every interval) and says when, with nothing else
happening, it would next act (`wake_at`), so the engine can skip ticks at which nothing can
change.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import classad2

from condor_annex.planning import (
    IdleAutocluster,
    Matcher,
    Plan,
    Policy,
    Resources,
    Worker,
    WorkerType,
    plan,
)
from condor_annex.replay.pool import Pool, SimWorker

INFINITY = float("inf")


def shape_ad(index: int, shape: Resources, owner: str = "replay") -> classad2.ClassAd:
    """One autocluster ad per job shape, as condor_submit's defaults would make it."""
    ad = classad2.ClassAd(
        {
            "AutoClusterId": index,
            "RequestCpus": shape.cpus,
            "RequestMemory": shape.memory_mb,
            "RequestDisk": shape.disk_mb * 1024,
            "RequestGPUs": shape.gpus,
            "Owner": owner,
        }
    )
    ad["Requirements"] = classad2.ExprTree(
        '(TARGET.Arch == "X86_64") && (TARGET.OpSys == "LINUX") && (TARGET.Disk >= RequestDisk)'
        " && (TARGET.Memory >= RequestMemory) && (TARGET.Cpus >= RequestCpus)"
        " && (TARGET.GPUs >= RequestGPUs) && (TARGET.HasFileTransfer)"
    )
    return ad


def cheapest_fitting(types: Sequence[WorkerType], shape: Resources) -> WorkerType | None:
    fitting = [t for t in types if t.resources.how_many(shape) >= 1]
    return min(fitting, key=lambda t: (t.price_per_hour, t.cpus, t.name), default=None)


def runnable(types: Sequence[WorkerType], shape: Resources) -> bool:
    return any(t.resources.how_many(shape) >= 1 for t in types)


@dataclass
class AnnexController:
    """Ours: the same `plan()` the controller calls, fed from the simulated pool."""

    catalogue: Sequence[WorkerType]
    policy: Policy
    name: str = "annex"
    plans: int = 0
    last_plan: Plan | None = None
    unmatchable: set[int] = field(default_factory=set)
    _ads: dict[int, classad2.ClassAd] = field(default_factory=dict)
    _matcher: Matcher | None = None

    def tick(self, now: float, pool: Pool) -> bool:
        if self._matcher is None:
            self._matcher = Matcher(self.policy)
        demand = []
        for s, queue in pool.idle.items():
            if queue:
                ad = self._ads.get(s)
                if ad is None:
                    ad = self._ads[s] = shape_ad(s, pool.shapes[s])
                demand.append(IdleAutocluster(f"shape{s}", ad, len(queue), pool.shapes[s]))
        supply = [_worker(w) for w in pool.workers.values()]
        decided = plan(
            demand, supply, self.catalogue, self.policy, now, pool.spent(now), self._matcher
        )
        self.plans += 1
        self.last_plan = decided
        self.unmatchable |= {int(u.autocluster[5:]) for u in decided.unmatchable}
        acted = False
        for launch in decided.launches:
            for _ in range(launch.count):
                pool.launch(launch.type, now)
            acted = True
        for release in decided.releases:
            worker = pool.workers.get(int(release.worker_id))
            if worker is not None and worker.running == 0:  # the claim re-check
                pool.end(worker, now)
                acted = True
        for worker_id in decided.drain:
            worker = pool.workers.get(int(worker_id))
            if worker is not None and not worker.draining:
                worker.draining = acted = True
        return acted

    def wake_at(self, now: float, pool: Pool) -> float:
        timing = self.policy.timing
        times = [
            max(w.unclaimed_since + timing.idle_s, w.launched_at + timing.min_life_s)
            for w in pool.workers.values()
            if w.joined and w.running == 0 and w.unclaimed_since is not None and not w.draining
        ]
        budget = self.policy.caps.budget_usd
        if budget is not None and pool.workers:
            burn = sum(w.type.price_per_hour for w in pool.workers.values())
            if burn > 0:
                times.append(now + max(0.0, budget - pool.spent(now)) / burn * 3600)
        return min(times, default=INFINITY)


def _worker(w: SimWorker) -> Worker:
    return Worker(
        id=str(w.id),
        type=w.type,
        free=w.free,
        claimed=w.running > 0,
        started_at=w.launched_at,
        unclaimed_since=w.unclaimed_since,
        draining=w.draining,
        in_flight=not w.joined,
        launched_at=w.launched_at,
    )


@dataclass
class StaticController:
    """One fixed-size annex started at the beginning, as condor_annex was used."""

    worker_type: WorkerType
    count: int
    name: str = "static"
    started: bool = False

    def tick(self, now: float, pool: Pool) -> bool:
        if self.started:
            return False
        self.started = True
        for _ in range(self.count):
            pool.launch(self.worker_type, now)
        return True

    def wake_at(self, now: float, pool: Pool) -> float:
        return INFINITY if self.started else now


@dataclass
class GcpToolkitController:
    """The GCP Cluster Toolkit's HTCondor autoscaler: one machine type, and
    target = current + min_idle - n_idle + ceil(idle jobs' CPUs / cores per node), where
    n_idle counts starting VMs and VMs with no job; above target, idle VMs are deleted
    (starting ones first). CPUs only: memory is not counted."""

    worker_type: WorkerType
    max_workers: int | None = None
    min_idle: int = 0
    name: str = "gcp-toolkit"

    def tick(self, now: float, pool: Pool) -> bool:
        cpus = sum(pool.shapes[s].cpus * len(q) for s, q in pool.idle.items())
        starting = [w for w in pool.workers.values() if not w.joined]
        idle = [w for w in pool.workers.values() if w.joined and w.running == 0]
        current = len(pool.workers)
        target = (
            current + self.min_idle - len(starting) - len(idle)
            + math.ceil(cpus / self.worker_type.cpus)
        )  # fmt: skip
        if self.max_workers is not None:
            target = min(target, self.max_workers)
        if target > current:
            for _ in range(target - current):
                pool.launch(self.worker_type, now)
            return True
        if target < current:
            doomed = sorted(starting, key=lambda w: -w.launched_at) + idle
            for worker in doomed[: current - target]:
                pool.end(worker, now)
            return True
        return False

    def wake_at(self, now: float, pool: Pool) -> float:
        return INFINITY  # it has no timers: it only reacts to what changed


@dataclass
class OnePerJobController:
    """gcpm's way: one VM sized to each idle job (here the cheapest catalogue type that fits
    it) unless an unclaimed or starting VM of that size is there for it; a VM leaves when
    unclaimed for the idle time."""

    catalogue: Sequence[WorkerType]
    idle_s: float
    max_cpus: int | None = None
    name: str = "one-per-job"

    def tick(self, now: float, pool: Pool) -> bool:
        acted = False
        for worker in list(pool.workers.values()):
            if (
                worker.joined and worker.running == 0 and worker.unclaimed_since is not None
                and now - worker.unclaimed_since >= self.idle_s
            ):  # fmt: skip
                pool.end(worker, now)
                acted = True
        spare: dict[int, int] = {}
        for worker in pool.workers.values():
            if worker.tag is not None and (not worker.joined or worker.running == 0):
                spare[worker.tag] = spare.get(worker.tag, 0) + 1
        used = sum(w.type.cpus for w in pool.workers.values())
        for s, queue in pool.idle.items():
            worker_type = cheapest_fitting(self.catalogue, pool.shapes[s]) if queue else None
            if worker_type is None:
                continue
            for _ in range(len(queue) - spare.get(s, 0)):
                if self.max_cpus is not None and used + worker_type.cpus > self.max_cpus:
                    break
                pool.launch(worker_type, now, tag=s)
                used += worker_type.cpus
                acted = True
        return acted

    def wake_at(self, now: float, pool: Pool) -> float:
        times = [
            w.unclaimed_since + self.idle_s
            for w in pool.workers.values()
            if w.joined and w.running == 0 and w.unclaimed_since is not None
        ]
        return min(times, default=INFINITY)
