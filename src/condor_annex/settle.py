"""The one place worker states change: what providers observe, plus the pool's view, applied
to an annex's records through the life cycle in `lifecycle.py`.

    provider sees PENDING          -> REQUESTED
    provider sees STARTED          -> BOOTING, or RUNNING once its startd is in the pool
    provider sees ENDED            -> GONE, with the reason from `gone_reason`
    provider no longer lists it    -> GONE, after the provider's unseen grace

Workers only move forward (never back, never out of GONE).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from condor_annex.interfaces.observation import Observation, Seen
from condor_annex.interfaces.provider import Timing
from condor_annex.lifecycle import GoneReason, WorkerState
from condor_annex.model import AnnexRecord, WorkerRecord


def gone_reason(
    annex: AnnexRecord, worker: WorkerRecord, now: float, hint: GoneReason | None = None
) -> GoneReason:
    """Why a worker is gone: the lease first (a hard end), then `off`, then what the
    provider knows; a worker that never started failed; any other left by itself."""
    if hint == GoneReason.LEASE or now >= annex.lease_end:
        return GoneReason.LEASE
    if annex.off_requested:
        return GoneReason.OFF
    if hint is not None:
        return hint
    if worker.state == WorkerState.REQUESTED:
        return GoneReason.FAILED
    return GoneReason.EXITED


def _target(seen: Seen, in_pool: bool) -> WorkerState:
    if seen == Seen.PENDING:
        return WorkerState.REQUESTED
    if seen == Seen.STARTED:
        return WorkerState.RUNNING if in_pool else WorkerState.BOOTING
    return WorkerState.GONE


def advance(record: WorkerRecord, target: WorkerState, reason: GoneReason) -> bool:
    """Move forward to `target` through the life cycle; True when the record changed."""
    if not record.alive or record.state == target:
        return False
    if target == WorkerState.GONE:
        record.move_to(WorkerState.GONE, reason)
        return True
    order = [WorkerState.REQUESTED, WorkerState.BOOTING, WorkerState.RUNNING]
    if order.index(target) < order.index(record.state):
        return False
    for state in order[order.index(record.state) + 1 : order.index(target) + 1]:
        record.move_to(state)
    return True


def settle(
    annex: AnnexRecord,
    observations: Iterable[Observation],
    now: float,
    timing: Timing,
    in_pool: set[str] | None = None,
) -> bool:
    """Apply what the provider saw (and, when known, which workers are in the pool).

    Workers the record does not know yet (started by an interrupted create) are added.
    Returns True when anything changed; the caller saves the record.
    """
    changed = False
    by_id = {w.id: w for w in annex.workers}
    seen_ids = set()
    for obs in observations:
        seen_ids.add(obs.id)
        record = by_id.get(obs.id)
        if record is None:
            record = WorkerRecord(id=obs.id, address=obs.address, started_at=obs.started_at)
            annex.workers.append(record)
            by_id[obs.id] = record
            changed = True
        if obs.address and record.address != obs.address:
            record.address, changed = obs.address, True
        if obs.started_at and not record.started_at:
            record.started_at, changed = obs.started_at, True
        if obs.data and any(record.data.get(k) != v for k, v in obs.data.items()):
            record.data.update(obs.data)
            changed = True
        if obs.detail != record.detail:
            record.detail, changed = obs.detail, True
        target = _target(obs.seen, in_pool is not None and obs.id in in_pool)
        reason = gone_reason(annex, record, now, obs.ended_by)
        changed |= advance(record, target, reason)
    for record in annex.live_workers:
        started = record.started_at or annex.created_at
        if record.id not in seen_ids and now - started > timing.unseen_grace_seconds:
            record.move_to(WorkerState.GONE, gone_reason(annex, record, now))
            changed = True
    return changed


def mark_ended(annex: AnnexRecord, ids: Sequence[str] | None, reason: GoneReason) -> None:
    """Workers the core itself had ended (off, pool down): GONE for that reason."""
    for record in annex.live_workers:
        if ids is None or record.id in ids:
            record.move_to(WorkerState.GONE, reason)
