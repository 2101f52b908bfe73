"""A worker left unclaimed for its idle time exits, and is cleaned up."""

from __future__ import annotations

import time

from tests.condor.jobs import wait_gone, wait_slots

from condor_annex import Annexes
from condor_annex.lifecycle import GoneReason
from condor_annex.processes import tagged
from condor_annex.providers.local.worker import tag

IDLE = 15


def test_idle_worker_leaves_and_is_cleaned_up(annexes: Annexes) -> None:
    record = annexes.create(annexes.request("idle", count=1, lease_seconds=600, idle_seconds=IDLE))
    wait_slots(annexes, "idle", 1)
    started = time.time()
    wait_gone(annexes, "idle", timeout=IDLE + 60)

    (worker,) = annexes.store.load_annex("idle").workers
    assert worker.gone_reason == GoneReason.EXITED  # left by itself, long before the lease
    assert worker.ended_at is not None and worker.ended_at < record.lease_end - 400
    assert worker.ended_at - record.created_at >= IDLE
    assert time.time() - started < IDLE + 60
    # Its directory, processes and address are gone.
    assert not (annexes.store.workers_dir / worker.id).exists()
    assert tagged(tag(worker.id)) == []
    (status,) = annexes.status("idle")
    assert (status.running, status.slots) == (0, 0)
    # The address is free again: the next worker may take it.
    again = annexes.create(annexes.request("idle2", count=1, lease_seconds=600, idle_seconds=300))
    assert again.workers[0].address == worker.address
