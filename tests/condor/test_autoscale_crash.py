"""Crash safety of the elastic annex controller, with real daemons: killed with SIGKILL in
the middle of a scale-up, it is started again by its supervisor, finishes the launch it
was making without launching twice, and every worker keeps its lease."""

from __future__ import annotations

import math
import os
import signal
import time
from pathlib import Path

import psutil
import pytest
from tests.condor.elastic import (
    controller_log,  # noqa: F401 - the fixture
    controller_pid,
    jobs,
    negotiate_often,
    record,
    state,
    submit_shaped,
    wait_view,
)

from condor_annex import Annexes
from condor_annex.waiting import wait_for

JOBS = 6

pytestmark = pytest.mark.usefixtures("controller_log")


def _mid_launch(annexes: Annexes) -> str | None:
    """The request id of a launch that has started workers but not recorded them all."""
    pending = state(annexes, "crash").pending
    if pending is None:
        return None
    request = str(pending["request"])
    dirs = list(annexes.store.workers_dir.glob(f"local-{request[:8]}-*"))
    known = {w.id for w in record(annexes, "crash").workers}
    return request if dirs and any(d.name not in known for d in dirs) else None


def test_killed_mid_scale_up_it_comes_back_and_never_launches_twice(
    annexes: Annexes, jobdir: Path, home: Path, cli
) -> None:  # type: ignore[no-untyped-def]
    negotiate_often(annexes)
    made = cli(
        "autoscale", "crash", "--shapes", "1x512M@0.01", "--interval", "2s", "--idle", "60s",
        "--min-life", "10s", "--duration", "20m", "--yes",
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    wait_view(annexes, "crash", "updated_at")
    first = controller_pid(home)
    assert first is not None

    cluster = submit_shaped(annexes, jobdir, "crash", 1, 512, 60, JOBS)
    found: list[str] = []

    def caught() -> bool:
        request = _mid_launch(annexes)
        if request is None:
            return False
        os.kill(first, signal.SIGKILL)  # the controller, in the middle of its launch
        found.append(request)
        return True

    wait_for(caught, 90, "the controller in the middle of a launch", interval=0.01)
    (killed_in,) = found
    wait_for(lambda: not psutil.pid_exists(first), 10, "the killed controller to be gone", 0.1)

    # Its supervisor starts it again, and it finishes that launch (the same request id).
    wait_for(lambda: controller_pid(home) not in (None, first), 30, "a new controller", 0.2)
    wait_for(lambda: state(annexes, "crash").pending is None, 30, "the launch to finish", 0.2)
    running = f"ClusterId == {cluster} && JobStatus == 2"
    wait_for(lambda: len(jobs(annexes, running)) == JOBS, 90, "every job to run", 1.0)

    # Never launched twice: one worker per job in all, each from one request, and no
    # worker directory the record does not know.
    final = state(annexes, "crash")
    workers = record(annexes, "crash").workers
    assert len(workers) == JOBS, [w.id for w in workers]
    assert final.launched_workers() == JOBS
    assert sum(1 for entry in final.launches if entry["request"] == killed_in) == 1
    on_disk = {p.name for p in annexes.store.workers_dir.iterdir() if p.name.startswith("local-")}
    assert on_disk == {w.id for w in workers}
    assert {str(ad["RemoteHost"]).split("@")[1] for ad in jobs(annexes, running)} == on_disk

    # Leases still hold: each worker carries the annex's lease end, and the independent
    # lease reaper watches them.
    lease_end = math.ceil(record(annexes, "crash").lease_end)
    for worker_id in on_disk:
        lease = (annexes.store.workers_dir / worker_id / "lease.config").read_text()
        assert lease == f"AnnexLeaseEnd = {lease_end}\n"
    reapers = [
        p
        for p in psutil.process_iter(["cmdline"])
        if "condor_annex.providers.local.reaper" in " ".join(p.info["cmdline"] or [])
        and str(home) in " ".join(p.info["cmdline"] or [])
    ]
    assert reapers, "no lease reaper watches the workers"
    assert all(w.data.get("request") for w in workers)
    assert time.time() < record(annexes, "crash").lease_end

    off = cli("off", "crash")
    assert off.returncode == 0, off.stderr
