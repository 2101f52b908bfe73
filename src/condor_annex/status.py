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
    )
