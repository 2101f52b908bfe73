"""What the controller keeps in an annex's record (`AnnexRecord.autoscale`), so nothing that
matters lives only in a process: the policy the user chose, the launch in progress (its
request id, written before the provider is asked), the launches made, the workers it is
releasing, and the view it last published (what `annex status` and the ClassAd show).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from condor_annex.model import AnnexRecord
from condor_annex.planning import Capacity, Caps, Policy, Timing
from condor_annex.workerconfig import start_expression

# Elastic workers leave by themselves, should the controller be gone for good, after
# this many intervals beyond the idle time and the minimum life (the controller releases
# them long before).
BACKSTOP_INTERVALS = 3
HISTORY = 200  # launches remembered in the record (status shows the recent ones)


@dataclass(frozen=True)
class ElasticPolicy:
    """What `annex autoscale` was asked for; None caps are unlimited (the budget is the
    record's own `budget_usd`, as for plain annexes)."""

    max_workers: int | None = None
    max_cpus: int | None = None
    max_gpus: int | None = None
    max_cost_per_hour: float | None = None
    idle_s: int = 900
    min_life_s: int = 600
    interval_s: int = 60
    boot_timeout_s: int = 900
    # The provider's own options as given (--shapes, --instance-types, --region, ...), so a
    # restarted controller opens the same catalogue.
    provider_options: dict[str, Any] = field(default_factory=dict)
    # The collector as workers reach it (a seed's public name); None: the pool's own.
    pool_address: str | None = None

    @property
    def backstop_idle_s(self) -> int:
        """The idle time elastic workers enforce on themselves."""
        return self.idle_s + self.min_life_s + BACKSTOP_INTERVALS * self.interval_s

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ElasticPolicy:
        return cls(**data)


@dataclass
class ControllerState:
    """`AnnexRecord.autoscale`, typed. `policy` is None for a plain annex that has a budget
    (the controller only keeps the budget there)."""

    policy: ElasticPolicy | None = None
    # The launch being made: {"request": id, "launch": Launch.to_json(), "at": time}.
    pending: dict[str, Any] | None = None
    # Launches made: {"request", "type", "count", "started", "at", "for"}; newest last.
    launches: list[dict[str, Any]] = field(default_factory=list)
    # Workers being released or drained (condor_off -peaceful sent): id -> time sent.
    releasing: dict[str, float] = field(default_factory=dict)
    # Workers whose loss was reported to the catalogue already.
    lost: list[str] = field(default_factory=list)
    # What the controller last saw and decided (status and the ClassAd show it).
    view: dict[str, Any] = field(default_factory=dict)
    # Why the controller is done with this annex ("" while it watches it).
    ended: str = ""

    @property
    def elastic(self) -> bool:
        return self.policy is not None

    @property
    def active(self) -> bool:
        """A controller must still step it: not done, or done with a launch unfinished."""
        return not self.ended or self.pending is not None

    @classmethod
    def of(cls, record: AnnexRecord) -> ControllerState | None:
        raw = record.autoscale
        if raw is None:
            return None
        data = dict(raw)
        policy = data.pop("policy", None)
        return cls(policy=None if policy is None else ElasticPolicy.from_json(policy), **data)

    def save(self, record: AnnexRecord) -> None:
        self.launches = self.launches[-HISTORY:]
        record.autoscale = asdict(self)

    def launched_workers(self) -> int:
        return sum(int(entry.get("started", 0)) for entry in self.launches)


def policy_of(record: AnnexRecord, elastic: ElasticPolicy | None) -> Policy:
    """The planner's policy for this annex now (a plain annex: only its budget)."""
    elastic = elastic or ElasticPolicy()
    return Policy(
        caps=Caps(
            max_workers=elastic.max_workers,
            max_cpus=elastic.max_cpus,
            max_gpus=elastic.max_gpus,
            max_cost_per_hour=elastic.max_cost_per_hour,
            budget_usd=record.budget_usd,
        ),
        timing=Timing(
            idle_s=elastic.idle_s,
            min_life_s=elastic.min_life_s,
            interval_s=elastic.interval_s,
            boot_timeout_s=elastic.boot_timeout_s,
            lease_end=record.lease_end,
        ),
        # The catalogue lists only the offerings the provider's options allow (say, spot).
        capacity=Capacity(spot=True, on_demand=True),
        start=start_expression(tuple(record.owners)),
        annex_name=record.name,
    )
