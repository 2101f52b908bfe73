"""An annex's status: the provider's view of instances merged with the pool's view of slots."""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any

from condor_annex.interfaces import Cost
from condor_annex.lifecycle import WorkerState
from condor_annex.model import AnnexRecord
from condor_annex.poolquery import Slot
from condor_annex.spending import spend


@dataclass
class AnnexStatus:
    name: str
    provider: str
    requested: int
    running: int  # live workers: booting or running
    gone: int
    # Workers per life-cycle state (requested, booting, running, gone).
    states: dict[str, int]
    gone_reasons: dict[str, int]
    slots: int
    claimed: int
    unclaimed: int
    lease_end: float
    lease_left_seconds: float
    idle_seconds: int
    # Started workers whose startd is not in the pool (the classic cross-check).
    not_in_pool: list[str] = field(default_factory=list)
    # What the provider says of live workers (a batch system's reasons), with counts.
    details: dict[str, int] = field(default_factory=dict)
    # Estimated dollars so far and what the estimate rests on (None: nothing billed).
    cost_dollars: float | None = None
    cost_note: str = ""
    # Why these figures are the last known ones and not fresh ("" when fresh).
    stale: str = ""
    # Spend by the records' prices (None: no worker has a price), and the budget.
    spent_usd: float | None = None
    burn_per_hour: float | None = None
    budget_usd: float | None = None
    # An annex with a controller: what it last saw and decided (as its ClassAd shows it),
    # and why it is done ("" while it watches the annex). None: no controller.
    autoscaler: dict[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def annex_status(
    record: AnnexRecord,
    slots: list[Slot],
    now: float | None = None,
    cost: Cost | None = None,
    stale: str = "",
) -> AnnexStatus:
    now = time.time() if now is None else now
    live = record.live_workers
    gone = [w for w in record.workers if not w.alive]
    in_pool = {s.instance_id for s in slots}
    claimed = sum(1 for s in slots if s.claimed)
    spent = spend(record, now)
    return AnnexStatus(
        name=record.name,
        provider=record.provider,
        requested=record.requested,
        running=len(live),
        gone=len(gone),
        states=dict(Counter(str(w.state) for w in record.workers)),
        gone_reasons=dict(Counter(str(w.gone_reason) for w in gone)),
        slots=len(slots),
        claimed=claimed,
        unclaimed=len(slots) - claimed,
        lease_end=record.lease_end,
        lease_left_seconds=max(0.0, record.lease_end - now),
        idle_seconds=record.idle_seconds,
        not_in_pool=sorted(
            w.id for w in live if w.state != WorkerState.REQUESTED and w.id not in in_pool
        ),
        details=dict(Counter(w.detail for w in live if w.detail)),
        cost_dollars=None if cost is None else cost.dollars,
        cost_note="" if cost is None else cost.line(),
        stale=stale,
        spent_usd=spent.spent_usd,
        burn_per_hour=spent.burn_per_hour,
        budget_usd=record.budget_usd,
        autoscaler=None if record.autoscale is None else controller_view(record.autoscale),
    )


def controller_view(part: dict[str, Any]) -> dict[str, Any]:
    """The controller's published view, with whether it is elastic and why it ended."""
    view = dict(part.get("view") or {})
    view["elastic"] = part.get("policy") is not None
    view["ended"] = part.get("ended", "")
    view["launches"] = list(part.get("launches", []))[-5:]
    return view
