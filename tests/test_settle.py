"""The core's one rule for worker states: providers observe, the core decides."""

from __future__ import annotations

import time

import pytest

from condor_annex.interfaces import Observation, Seen, Timing
from condor_annex.lifecycle import GoneReason, WorkerState
from condor_annex.model import AnnexRecord, WorkerRecord
from condor_annex.settle import gone_reason, mark_ended, settle

TIMING = Timing(
    lease_grace_seconds=1, join_wait_seconds=0, poll_seconds=1, unseen_grace_seconds=100
)


def annex(lease: float = 3600) -> AnnexRecord:
    now = time.time()
    return AnnexRecord("a", "test", 3, now + lease, 60, 1, 1024, created_at=now)


def test_started_is_booting_until_the_pool_sees_it_then_running() -> None:
    record = annex()
    now = time.time()
    assert settle(record, [Observation("w1", Seen.STARTED, address="h1")], now, TIMING)
    (worker,) = record.workers
    assert (worker.state, worker.address) == (WorkerState.BOOTING, "h1")
    settle(record, [Observation("w1", Seen.STARTED)], now, TIMING, in_pool=set())
    assert worker.state == WorkerState.BOOTING
    settle(record, [Observation("w1", Seen.STARTED)], now, TIMING, in_pool={"w1"})
    assert worker.state == WorkerState.RUNNING
    # The pool view may be missing later (no collector): never a step back.
    assert not settle(record, [Observation("w1", Seen.STARTED)], now, TIMING)
    assert worker.state == WorkerState.RUNNING


def test_pending_stays_requested_and_jumps_straight_to_running() -> None:
    record = annex()
    now = time.time()
    settle(record, [Observation("w1", Seen.PENDING, detail="Resources")], now, TIMING)
    assert (record.workers[0].state, record.workers[0].detail) == (
        WorkerState.REQUESTED,
        "Resources",
    )
    settle(record, [Observation("w1", Seen.STARTED)], now, TIMING, in_pool={"w1"})
    assert record.workers[0].state == WorkerState.RUNNING
    assert record.workers[0].detail == ""


@pytest.mark.parametrize(
    ("before", "lease_passed", "off", "hint", "reason"),
    [
        (WorkerState.BOOTING, False, False, None, GoneReason.EXITED),
        (WorkerState.RUNNING, True, False, None, GoneReason.LEASE),
        (WorkerState.RUNNING, False, True, None, GoneReason.OFF),
        (WorkerState.RUNNING, True, True, None, GoneReason.LEASE),
        (WorkerState.RUNNING, False, False, GoneReason.LEASE, GoneReason.LEASE),
        (WorkerState.REQUESTED, False, False, None, GoneReason.FAILED),
        (WorkerState.BOOTING, False, False, GoneReason.FAILED, GoneReason.FAILED),
    ],
)
def test_why_a_worker_is_gone(
    before: WorkerState,
    lease_passed: bool,
    off: bool,
    hint: GoneReason | None,
    reason: GoneReason,
) -> None:
    record = annex(lease=-1 if lease_passed else 3600)
    record.off_requested = off
    worker = WorkerRecord("w1", "h")
    for state in (WorkerState.BOOTING, WorkerState.RUNNING)[
        : [WorkerState.REQUESTED, WorkerState.BOOTING, WorkerState.RUNNING].index(before)
    ]:
        worker.move_to(state)
    assert gone_reason(record, worker, time.time(), hint) == reason
    record.workers = [worker]
    settle(record, [Observation("w1", Seen.ENDED, ended_by=hint)], time.time(), TIMING)
    assert (worker.state, worker.gone_reason) == (WorkerState.GONE, reason)


def test_workers_started_elsewhere_are_adopted_and_data_kept() -> None:
    record = annex()
    seen = Observation("late", Seen.STARTED, started_at=5.0, data={"job": "7_1"})
    settle(record, [seen], time.time(), TIMING)
    assert [(w.id, w.started_at, w.data) for w in record.workers] == [("late", 5.0, {"job": "7_1"})]


def test_unseen_workers_end_only_after_the_grace() -> None:
    record = annex()
    now = time.time()
    settle(record, [Observation("w1", Seen.STARTED, started_at=now)], now, TIMING)
    assert not settle(record, [], now + 50, TIMING)
    assert record.workers[0].alive
    assert settle(record, [], now + 150, TIMING)
    assert record.workers[0].gone_reason == GoneReason.EXITED


def test_gone_is_final() -> None:
    record = annex()
    now = time.time()
    settle(record, [Observation("w1", Seen.ENDED)], now, TIMING)
    settle(record, [Observation("w1", Seen.STARTED)], now, TIMING, in_pool={"w1"})
    assert record.workers[0].state == WorkerState.GONE


def test_mark_ended_only_the_named() -> None:
    record = annex()
    now = time.time()
    settle(record, [Observation(w, Seen.STARTED) for w in ("a", "b", "c")], now, TIMING)
    mark_ended(record, ["b"], GoneReason.OFF)
    assert [w.alive for w in record.workers] == [True, False, True]
    mark_ended(record, None, GoneReason.OFF)
    assert {w.gone_reason for w in record.workers} == {GoneReason.OFF}
