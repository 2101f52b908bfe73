"""`annex off` ends every worker: by default like condor_off -annex (jobs go back to the
queue), with --graceful after running jobs finish."""

from __future__ import annotations

from pathlib import Path

from tests.condor.jobs import history, queue, submit, wait_idle, wait_running, wait_slots

from condor_annex import Annexes
from condor_annex.lifecycle import GoneReason


def test_off_evicts_jobs_and_ends_all_workers(annexes: Annexes, jobdir: Path) -> None:
    annexes.create(annexes.request("off", count=2, lease_seconds=600, idle_seconds=300))
    wait_slots(annexes, "off", 2)
    cluster = submit(annexes, jobdir, seconds=600)
    wait_running(annexes, cluster)

    record = annexes.off("off")
    assert record.live_workers == []
    assert {w.gone_reason for w in record.workers} == {GoneReason.OFF}
    assert not any((annexes.store.workers_dir / w.id).exists() for w in record.workers)
    (status,) = annexes.status("off")
    assert (status.running, status.slots) == (0, 0)
    (job,) = wait_idle(annexes, cluster)  # still queued: evicted, not finished
    assert job["NumJobStarts"] >= 1


def test_graceful_off_lets_running_jobs_finish(annexes: Annexes, jobdir: Path) -> None:
    annexes.create(annexes.request("calm", count=1, lease_seconds=600, idle_seconds=300))
    wait_slots(annexes, "calm", 1)
    cluster = submit(annexes, jobdir, seconds=12)
    wait_running(annexes, cluster)

    record = annexes.off("calm", graceful=True, timeout=120)
    assert record.live_workers == []
    assert queue(annexes, cluster) == []
    (job,) = history(annexes, cluster)
    assert job["JobStatus"] == 4 and job["ExitCode"] == 0
