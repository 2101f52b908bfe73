"""The discrete-event loop: trace events (arrivals, job ends, workers joining) and the
controller's loop ticks on a fixed grid (every interval), skipping ticks at which nothing
can change: no event since the last tick, the last tick did nothing, and no controller
timer (idle time, minimum life, budget) falls due."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Protocol

from condor_annex.replay.pool import Pool, Sample, billed_seconds
from condor_annex.replay.swf import Trace

INFINITY = float("inf")


class Controller(Protocol):
    name: str

    def tick(self, now: float, pool: Pool) -> bool: ...  # True when it acted

    def wake_at(self, now: float, pool: Pool) -> float: ...


@dataclass
class Outcome:
    """One policy's replay, in the units the report shows."""

    policy: str
    paid_core_hours: float
    used_core_hours: float
    cost_usd: float
    mean_wait_s: float
    p95_wait_s: float
    unmatched_jobs: int
    jobs_run: int
    workers_launched: int
    peak_workers: int
    ticks: int
    end_s: float
    timeline: list[Sample]

    @property
    def paid_per_used(self) -> float:
        return self.paid_core_hours / self.used_core_hours if self.used_core_hours else math.inf

    def to_json(self) -> dict[str, float | int | str]:
        return {
            "paid_core_hours": round(self.paid_core_hours, 3),
            "used_core_hours": round(self.used_core_hours, 3),
            "paid_per_used": round(self.paid_per_used, 4),
            "cost_usd": round(self.cost_usd, 2),
            "mean_wait_s": round(self.mean_wait_s, 1),
            "p95_wait_s": round(self.p95_wait_s, 1),
            "unmatched_jobs": self.unmatched_jobs,
            "jobs_run": self.jobs_run,
            "workers_launched": self.workers_launched,
            "peak_workers": self.peak_workers,
        }


def _grid(t: float, interval: float) -> float:
    return math.ceil(t / interval - 1e-9) * interval


def percentile(values: list[float], fraction: float) -> float:
    """Nearest-rank percentile; 0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


def simulate(trace: Trace, controller: Controller, boot_s: float, interval_s: float) -> Outcome:
    pool = Pool(trace, boot_s)
    next_tick, acted, ticks = 0.0, False, 0
    while True:
        event = pool.next_event_time()
        # Ticks are on the interval grid and never before the last event.
        due = max(next_tick, _grid(pool.now, interval_s))
        if pool.changed or acted:
            tick = due
        else:
            wake = max(due, min(event, controller.wake_at(due, pool)))
            tick = _grid(wake, interval_s) if wake < INFINITY else INFINITY
        if event <= tick and event < INFINITY:
            pool.advance(event)
            continue
        if tick == INFINITY:
            break
        pool.changed = False
        acted = controller.tick(tick, pool)
        ticks += 1
        pool.negotiate(tick)
        pool.sample(tick)
        next_tick = tick + interval_s
    return _outcome(trace, controller, pool, ticks)


def _outcome(trace: Trace, controller: Controller, pool: Pool, ticks: int) -> Outcome:
    end = max((s.time for s in pool.timeline), default=0.0)
    # Whatever is still up when nothing more can happen is ended (a user would turn it off).
    cost, paid = pool.ended_cost, pool.paid_core_s
    for w in pool.workers.values():
        seconds = billed_seconds(w.launched_at, end)
        cost += w.type.price_per_hour * seconds / 3600
        paid += w.type.cpus * seconds
    waits = [
        start - job.submit
        for job, start in zip(trace.jobs, pool.start, strict=True)
        if start is not None
    ]
    used = sum(job.cpus * job.runtime for job, start in zip(trace.jobs, pool.start, strict=True)
               if start is not None)  # fmt: skip
    return Outcome(
        policy=controller.name,
        paid_core_hours=paid / 3600,
        used_core_hours=used / 3600,
        cost_usd=cost,
        mean_wait_s=sum(waits) / len(waits) if waits else 0.0,
        p95_wait_s=percentile(waits, 0.95),
        unmatched_jobs=len(trace.jobs) - len(waits),
        jobs_run=len(waits),
        workers_launched=pool.launched,
        peak_workers=pool.peak_workers,
        ticks=ticks,
        end_s=end,
        timeline=pool.timeline,
    )
