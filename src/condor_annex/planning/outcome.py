"""What a plan decides, and why: the launches, the releases, the limits that stopped growth,
the autoclusters nothing can run. `reasons()` is for people (a status command), `to_json()`
for tools, `classad_attributes()` for the controller's ad in the collector."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from condor_annex.planning.catalogue import WorkerType
from condor_annex.planning.policy import Spending


def jobs_text(count: int) -> str:
    return f"{count} job" if count == 1 else f"{count} jobs"


@dataclass(frozen=True)
class Launch:
    """One decision group: one provider launch (on AWS one CreateFleet) of `count` workers
    of `type`, or of any of `alternatives` (price-ordered, `type` first)."""

    type: WorkerType
    count: int
    alternatives: tuple[WorkerType, ...]
    for_autoclusters: tuple[tuple[str, int], ...]  # (autocluster id, jobs packed), largest first

    def reason(self) -> str:
        jobs = ", ".join(f"{ac} ({jobs_text(n)})" for ac, n in self.for_autoclusters)
        others = [t.offering for t in self.alternatives[1:]]
        also = f"; or else {', '.join(others)}" if others else ""
        return (
            f"launch {self.count} x {self.type.offering} "
            f"(${self.type.price_per_hour:.4f}/h each{also}) for {jobs}"
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "type": self.type.to_json(),
            "count": self.count,
            "alternatives": [t.offering for t in self.alternatives],
            "for_autoclusters": dict(self.for_autoclusters),
        }


@dataclass(frozen=True)
class Release:
    """A worker the plan does not need. The controller must re-check that it is still
    unclaimed just before ending it (drain it gracefully first): a job may have started on
    it since the plan's inputs were read. A running job is never killed."""

    worker_id: str
    reason: str


@dataclass(frozen=True)
class LimitHit:
    """A cap (max_workers, max_cpus, max_gpus, max_cost_per_hour, budget) or the lease that
    stopped growth, and the jobs left waiting because of it."""

    limit: str
    autocluster: str
    jobs_left: int
    detail: str

    def reason(self) -> str:
        return (
            f"growth stopped by {self.limit} for {self.autocluster} "
            f"({jobs_text(self.jobs_left)} left): {self.detail}"
        )


@dataclass(frozen=True)
class Unmatchable:
    """An autocluster that no allowed type (and no worker there is) can run: it never
    causes growth."""

    autocluster: str
    jobs: int
    why: str


@dataclass(frozen=True)
class Placement:
    """Where one autocluster's idle jobs go: existing room, workers in flight, new workers;
    `waiting` were left out by a limit."""

    autocluster: str
    existing: int = 0
    in_flight: int = 0
    new: int = 0
    waiting: int = 0


@dataclass(frozen=True)
class Plan:
    """The outcome of one `plan()` call. Nothing here has happened yet: the controller acts
    on it (launch each group, drain and end releases after re-checking their claims, end
    workers that failed to join), and the next plan sees the result."""

    launches: tuple[Launch, ...] = ()
    releases: tuple[Release, ...] = ()
    failed: tuple[str, ...] = ()  # in flight past the boot timeout: end them, not coming
    drain: tuple[str, ...] = ()  # budget spent: drain these, end each once unclaimed
    drain_and_end: bool = False
    unmatchable: tuple[Unmatchable, ...] = ()
    limits: tuple[LimitHit, ...] = ()
    placements: tuple[Placement, ...] = ()
    needed: tuple[str, ...] = ()  # workers whose room the idle jobs need
    spending: Spending | None = None
    budget_usd: float | None = None
    notes: tuple[str, ...] = field(default=())

    @property
    def new_workers(self) -> int:
        return sum(launch.count for launch in self.launches)

    def reasons(self) -> list[str]:
        lines: list[str] = []
        if self.drain_and_end and self.spending is not None:
            lines.append(
                f"budget spent (${self.spending.spent_usd:.2f} of ${self.budget_usd or 0:.2f}): "
                f"drain {len(self.drain)} workers and end"
            )
        lines += [launch.reason() for launch in self.launches]
        lines += [limit.reason() for limit in self.limits]
        lines += [
            f"unmatchable: {u.autocluster} ({jobs_text(u.jobs)}): {u.why}" for u in self.unmatchable
        ]
        lines += [f"release {r.worker_id}: {r.reason}" for r in self.releases]
        lines += [f"failed to join in time, end it: {w}" for w in self.failed]
        lines += list(self.notes)
        if self.spending is not None:
            s = self.spending
            lines.append(
                f"spending: ${s.spent_usd:.2f} so far, burn ${s.burn_per_hour:.4f}/h, "
                f"${s.committed_usd:.4f} committed to workers in flight"
            )
        return lines

    def to_json(self) -> dict[str, Any]:
        s = self.spending
        return {
            "launches": [launch.to_json() for launch in self.launches],
            "releases": [{"worker": r.worker_id, "reason": r.reason} for r in self.releases],
            "failed": list(self.failed),
            "drain": list(self.drain),
            "drain_and_end": self.drain_and_end,
            "unmatchable": [
                {"autocluster": u.autocluster, "jobs": u.jobs, "why": u.why}
                for u in self.unmatchable
            ],
            "limits": [
                {
                    "limit": x.limit,
                    "autocluster": x.autocluster,
                    "jobs_left": x.jobs_left,
                    "detail": x.detail,
                }
                for x in self.limits
            ],
            "placements": [p.__dict__ for p in self.placements],
            "needed": list(self.needed),
            "spending": None
            if s is None
            else {
                "spent_usd": s.spent_usd,
                "burn_per_hour": s.burn_per_hour,
                "in_flight_per_hour": s.in_flight_per_hour,
                "committed_usd": s.committed_usd,
                "budget_usd": self.budget_usd,
            },
            "reasons": self.reasons(),
        }

    def classad_attributes(self) -> dict[str, Any]:
        """Flat values for the controller's ClassAd (condor_status -any shows them)."""
        s = self.spending
        return {
            "IdleJobs": sum(p.existing + p.in_flight + p.new + p.waiting for p in self.placements),
            "WaitingJobs": sum(p.waiting for p in self.placements),
            "PlannedLaunches": self.new_workers,
            "PlannedReleases": len(self.releases),
            "LimitsHit": ",".join(sorted({x.limit for x in self.limits})),
            "UnmatchableAutoclusters": ",".join(u.autocluster for u in self.unmatchable),
            "UnmatchableJobs": sum(u.jobs for u in self.unmatchable),
            "BurnRatePerHour": 0.0 if s is None else s.burn_per_hour,
            "SpentUSD": 0.0 if s is None else s.spent_usd,
            "CommittedUSD": 0.0 if s is None else s.committed_usd,
            "DrainAndEnd": self.drain_and_end,
        }
