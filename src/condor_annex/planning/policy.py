"""The policy an elastic annex runs under: caps, timing, capacity, and how spending counts.

Spending model (in USD):
- burn: running workers (joined, draining included) x their hourly price;
- committed: workers in flight x price x the minimum life (they will be paid at least that);
- a launch commits its price x the minimum life too.
Growth stops BEFORE a launch would pass a cap: the budget check projects the spend so far,
one interval of burn, what is committed, and the launch's own commitment.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field

from condor_annex.planning.catalogue import WorkerType
from condor_annex.planning.demand import Worker

SECONDS_PER_HOUR = 3600.0
_SLACK = 1e-9  # money sums in floats: a launch that lands exactly on a cap is within it


@dataclass(frozen=True)
class Caps:
    """Hard limits on the whole annex; None means no limit."""

    max_workers: int | None = None
    max_cpus: int | None = None
    max_gpus: int | None = None
    max_cost_per_hour: float | None = None
    budget_usd: float | None = None


@dataclass(frozen=True)
class Timing:
    """Seconds, except `lease_end` (the annex's hard end, on the caller's clock)."""

    idle_s: float = 900.0
    min_life_s: float = 600.0
    interval_s: float = 60.0
    boot_timeout_s: float = 900.0
    lease_end: float | None = None


@dataclass(frozen=True)
class Capacity:
    """Which catalogue entries may be started: names (None: all), spot and/or on-demand."""

    allowed_types: frozenset[str] | None = None
    spot: bool = False
    on_demand: bool = True

    def allows(self, worker_type: WorkerType) -> bool:
        if self.allowed_types is not None and worker_type.name not in self.allowed_types:
            return False
        return self.spot if worker_type.spot else self.on_demand


@dataclass(frozen=True)
class Policy:
    """Everything the planner is told; `start` is the annex's START expression (as the
    workers' configuration has it), `waste_weight` how much a unit of idle room costs when
    types are compared (0: price per job only)."""

    caps: Caps = field(default_factory=Caps)
    timing: Timing = field(default_factory=Timing)
    capacity: Capacity = field(default_factory=Capacity)
    start: str = "True"
    annex_name: str = "annex"
    waste_weight: float = 0.5


@dataclass(frozen=True)
class Spending:
    """Where the money stands at a decision."""

    spent_usd: float
    burn_per_hour: float
    in_flight_per_hour: float
    committed_usd: float
    interval_s: float

    @classmethod
    def of(cls, supply: Iterable[Worker], policy: Policy, spent_usd: float) -> Spending:
        burn = flying = 0.0
        for worker in supply:
            if worker.in_flight:
                flying += worker.type.price_per_hour
            else:
                burn += worker.type.price_per_hour
        min_life_h = policy.timing.min_life_s / SECONDS_PER_HOUR
        return cls(spent_usd, burn, flying, flying * min_life_h, policy.timing.interval_s)

    @property
    def projected_usd(self) -> float:
        """Spent, plus one interval of burn, plus what workers in flight have committed."""
        return (
            self.spent_usd
            + self.burn_per_hour * self.interval_s / SECONDS_PER_HOUR
            + self.committed_usd
        )


@dataclass
class Headroom:
    """What is left under each cap while a plan adds workers; None means unlimited."""

    workers: float | None
    cpus: float | None
    gpus: float | None
    cost_per_hour: float | None
    budget_usd: float | None
    min_life_h: float

    @classmethod
    def of(cls, supply: Iterable[Worker], policy: Policy, spending: Spending) -> Headroom:
        caps = policy.caps
        workers = list(supply)

        def left(cap: float | None, used: float) -> float | None:
            return None if cap is None else cap - used

        return cls(
            workers=left(caps.max_workers, len(workers)),
            cpus=left(caps.max_cpus, sum(w.type.cpus for w in workers)),
            gpus=left(caps.max_gpus, sum(w.type.gpus for w in workers)),
            cost_per_hour=left(
                caps.max_cost_per_hour, spending.burn_per_hour + spending.in_flight_per_hour
            ),
            budget_usd=left(caps.budget_usd, spending.projected_usd),
            min_life_h=policy.timing.min_life_s / SECONDS_PER_HOUR,
        )

    def _uses(self, worker_type: WorkerType) -> dict[str, tuple[float | None, float]]:
        return {
            "max_workers": (self.workers, 1.0),
            "max_cpus": (self.cpus, float(worker_type.cpus)),
            "max_gpus": (self.gpus, float(worker_type.gpus)),
            "max_cost_per_hour": (self.cost_per_hour, worker_type.price_per_hour),
            "budget": (self.budget_usd, worker_type.price_per_hour * self.min_life_h),
        }

    def allowance(self, worker_type: WorkerType, wanted: int) -> tuple[int, str | None]:
        """How many of `wanted` workers of this type fit under every cap, and the cap that
        stops the rest (None when all fit)."""
        allowed, limit = wanted, None
        for name, (left, use) in self._uses(worker_type).items():
            if left is None or use <= 0:
                continue
            fits = max(0, math.floor((left + _SLACK) / use))
            if fits < allowed:
                allowed, limit = fits, name
        return allowed, limit

    def take(self, worker_type: WorkerType, count: int) -> None:
        for name, (left, use) in self._uses(worker_type).items():
            if left is not None:
                setattr(self, _FIELD[name], left - use * count)


_FIELD = {
    "max_workers": "workers",
    "max_cpus": "cpus",
    "max_gpus": "gpus",
    "max_cost_per_hour": "cost_per_hour",
    "budget": "budget_usd",
}
