"""The lease is a hard bound: workers leave at lease end by themselves, the independent
reaper ends any that do not (even when the creating process was SIGKILLed), running jobs
do not extend it, and renewal moves it for both mechanisms."""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import htcondor2
from tests.condor.jobs import queue, submit, wait_gone, wait_running, wait_slots

from condor_annex import Annexes, poolquery
from condor_annex.lifecycle import GoneReason
from condor_annex.processes import is_alive
from condor_annex.providers.local.provider import LEASE_GRACE_SECONDS, local_worker
from condor_annex.waiting import wait_for
from condor_annex.workerconfig import lease_config

# A worker must be gone within this long after its lease end (target: under 10 s).
OVERSHOOT_LIMIT = 10.0


def _lease_attr(annexes: Annexes, name: str) -> set[int]:
    collector = annexes.pool.require_up().collector
    ads = htcondor2.Collector(collector).query(
        htcondor2.AdType.Startd, poolquery.annex_constraint(name), ["AnnexLeaseEnd"]
    )
    return {int(ad["AnnexLeaseEnd"]) for ad in ads}


def test_lease_holds_while_a_job_runs(annexes: Annexes, jobdir: Path) -> None:
    record = annexes.create(annexes.request("busy", count=1, lease_seconds=40, idle_seconds=40))
    cluster = submit(annexes, jobdir, seconds=600)
    wait_running(annexes, cluster)
    wait_gone(annexes, "busy", timeout=record.lease_end - time.time() + OVERSHOOT_LIMIT)

    (worker,) = annexes.store.load_annex("busy").workers
    assert worker.gone_reason == GoneReason.LEASE
    assert worker.ended_at is not None
    assert worker.ended_at - record.lease_end < OVERSHOOT_LIMIT
    # The job did not finish: the lease killed it and it went back to the queue.
    wait_for(lambda: queue(annexes, cluster)[0]["JobStatus"] == 1, 30, "the job to be idle")


CREATOR = textwrap.dedent(
    """
    import json, sys, time
    from pathlib import Path
    from condor_annex import Annexes
    annexes = Annexes(home=Path(sys.argv[1]))
    record = annexes.create(annexes.request("orphan", count=2, lease_seconds=25,
                                            idle_seconds=25))
    print(json.dumps({"lease_end": record.lease_end}), flush=True)
    time.sleep(3600)
    """
)


def test_reaper_ends_workers_after_the_creator_is_killed(annexes: Annexes) -> None:
    creator = subprocess.Popen(
        [sys.executable, "-c", CREATOR, str(annexes.store.home)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert creator.stdout is not None
    lease_end = json.loads(creator.stdout.readline())["lease_end"]
    creator.send_signal(signal.SIGKILL)
    creator.wait(timeout=10)
    wait_slots(annexes, "orphan", 2)

    # Defeat the workers' own lease expression, so only the independent reaper can act.
    workers = [local_worker(annexes.store, r) for r in annexes.store.load_annex("orphan").workers]
    for worker in workers:
        (worker.dir / "lease.config").write_text(lease_config(time.time() + 3600))
        worker.reconfigure()
    wait_for(
        lambda: _lease_attr(annexes, "orphan") - {math.ceil(lease_end)} != set(),
        30,
        "the workers to take the defeated lease",
    )
    assert all(is_alive(w.pid, w.pid_started) for w in workers)

    wait_for(
        lambda: not any(is_alive(w.pid, w.pid_started) for w in workers),
        lease_end - time.time() + LEASE_GRACE_SECONDS + OVERSHOOT_LIMIT,
        "the reaper to end the workers",
        interval=0.2,
    )
    gone_at = time.time()
    assert gone_at - lease_end < LEASE_GRACE_SECONDS + OVERSHOOT_LIMIT
    assert gone_at >= lease_end  # not before the lease ended
    wait_gone(annexes, "orphan", timeout=10)
    # Killed workers cannot withdraw their ads; the reaper does it for them, at once.
    wait_for(lambda: annexes.status("orphan")[0].slots == 0, 10, "the slots to leave")
    for record in annexes.store.load_annex("orphan").workers:
        assert record.gone_reason == GoneReason.LEASE
        assert not (annexes.store.workers_dir / record.id).exists()


def test_renew_moves_the_lease_for_worker_and_reaper(annexes: Annexes, jobdir: Path) -> None:
    record = annexes.create(annexes.request("renew", count=1, lease_seconds=30, idle_seconds=30))
    wait_slots(annexes, "renew", 1)
    assert _lease_attr(annexes, "renew") == {math.ceil(record.lease_end)}
    cluster = submit(annexes, jobdir, seconds=600)  # claimed, so idle time cannot end it
    wait_running(annexes, cluster)

    renewed = annexes.renew("renew", 300)
    assert renewed.lease_end > record.lease_end + 200
    # The worker's own expression sees the new end (it reconfigured) ...
    wait_for(
        lambda: _lease_attr(annexes, "renew") == {math.ceil(renewed.lease_end)},
        30,
        "the worker to advertise the new lease end",
    )
    # ... and neither it nor the reaper ends it at the old one.
    wait_for(
        lambda: time.time() > record.lease_end + LEASE_GRACE_SECONDS + OVERSHOOT_LIMIT,
        60,
        "the old lease end to pass",
        interval=1,
    )
    (status,) = annexes.status("renew")
    assert status.running == 1 and status.gone == 0 and status.claimed == 1
    assert status.lease_left_seconds > 200
    assert queue(annexes, cluster)[0]["JobStatus"] == 2  # the job still runs
    (w,) = annexes.store.load_annex("renew").workers
    token = annexes.store.workers_dir / w.id / "tokens.d" / "annex"
    assert os.stat(token).st_mode & 0o777 == 0o600
