"""Jobs submitted by an ordinary user run on annex workers of the local provider."""

from __future__ import annotations

from pathlib import Path

from tests.condor.jobs import USER, submit, wait_done, wait_slots

from condor_annex import Annexes
from condor_annex.processes import tagged
from condor_annex.providers.local.worker import tag


def test_jobs_run_on_annex_workers(annexes: Annexes, jobdir: Path) -> None:
    record = annexes.create(annexes.request("jobs", count=2, lease_seconds=600, idle_seconds=300))
    wait_slots(annexes, "jobs", 2)
    cluster = submit(annexes, jobdir, seconds=2, count=4)
    done = wait_done(annexes, cluster)

    worker_ids = {w.id for w in record.workers}
    assert len(done) == 4
    for ad in done:
        assert ad["JobStatus"] == 4 and ad["ExitCode"] == 0
        assert ad["Owner"] == USER
        # LastRemoteHost is slot@INSTANCE@host: the instance is one of this annex's workers.
        assert str(ad["LastRemoteHost"]).split("@")[1] in worker_ids
    outputs = sorted(jobdir.glob("job.*.out"))
    assert len(outputs) == 4
    assert all(f"as {USER}" in p.read_text() for p in outputs)


def test_api_status_reports_slots_and_lease(annexes: Annexes) -> None:
    annexes.create(annexes.request("api", count=2, lease_seconds=600, idle_seconds=300))
    wait_slots(annexes, "api", 2)
    (status,) = annexes.status("api")
    assert (status.requested, status.running, status.gone) == (2, 2, 0)
    assert (status.slots, status.claimed, status.unclaimed) == (2, 0, 2)
    assert 500 < status.lease_left_seconds <= 600
    assert status.idle_seconds == 300
    assert status.not_in_pool == []


def test_pool_down_stops_everything_and_removes_state(home: Path) -> None:
    annexes = Annexes(home=home)
    annexes.pool_up()
    record = annexes.create(annexes.request("bye", count=2, lease_seconds=600, idle_seconds=300))
    wait_slots(annexes, "bye", 2)
    tags = [annexes.pool.tag] + [tag(w.id) for w in record.workers]
    assert all(tagged(t) for t in tags)

    annexes.pool_down()
    assert all(tagged(t) == [] for t in tags)
    assert not annexes.store.pool_dir.exists()
    assert annexes.store.annex_names() == []
    assert not any(annexes.store.workers_dir.iterdir())
    assert not annexes.pool.is_up()
