"""Helpers for the elastic annex tests: a pool that negotiates every two seconds, jobs of
given shapes as an ordinary user, and the controller's record and process."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import classad2
import psutil
import pytest
from tests.condor.jobs import USER

from condor_annex import Annexes, poolquery
from condor_annex.autoscale.daemon import PID
from condor_annex.autoscale.state import ControllerState
from condor_annex.lifecycle import WorkerState
from condor_annex.model import AnnexRecord
from condor_annex.waiting import wait_for

FAST_NEGOTIATION = "NEGOTIATOR_CYCLE_DELAY = 2\n"


def negotiate_often(annexes: Annexes) -> None:
    """The negotiator's idle cadence is 20 s by default; tests with 5 s controller steps
    want a cycle every 2 s (the seed role already publishes its ad every 5 s)."""
    (annexes.pool.seed_layout.config_dir / "90-test-negotiation.config").write_text(
        FAST_NEGOTIATION
    )
    argv = annexes.tool(["condor_reconfig"], cwd=Path("/"))
    subprocess.run(argv, check=True, capture_output=True)


def submit_shaped(
    annexes: Annexes, jobdir: Path, name: str, cpus: int, memory_mb: int, seconds: int, count: int
) -> int:
    """`count` jobs that sleep `seconds` and ask for `cpus` and `memory_mb`, as USER."""
    uid, gid = annexes.runtime.ensure_user(USER)
    script = jobdir / "sleep.sh"
    script.write_text('#!/bin/sh\nsleep "$1"\n')
    os.chmod(script, 0o755)  # noqa: S103
    sub = jobdir / f"{name}.sub"
    sub.write_text(
        f"executable = sleep.sh\narguments = {seconds}\nlog = {name}.log\n"
        f"request_cpus = {cpus}\nrequest_memory = {memory_mb}\nrequest_disk = 1024\n"
        f"should_transfer_files = YES\nqueue {count}\n"
    )
    for path in (script, sub):
        os.chown(path, uid, gid)
    argv = annexes.tool(["condor_submit", "-terse", sub.name], user=USER, cwd=jobdir)
    proc = subprocess.run(argv, capture_output=True, text=True, check=True)
    return int(proc.stdout.split(".")[0])


def jobs(annexes: Annexes, constraint: str) -> list[classad2.ClassAd]:
    collector = annexes.pool.require_up().collector
    attrs = ["ClusterId", "ProcId", "JobStatus", "RemoteHost", "NumJobStarts"]
    return poolquery.schedd_jobs(collector, constraint, attrs)


def finished(annexes: Annexes, constraint: str) -> list[classad2.ClassAd]:
    collector = annexes.pool.require_up().collector
    attrs = ["ClusterId", "ExitCode", "LastRemoteHost", "CompletionDate", "JobStartDate"]
    return poolquery.job_history(collector, constraint, attrs)


def record(annexes: Annexes, name: str) -> AnnexRecord:
    return annexes.store.load_annex(name)


def state(annexes: Annexes, name: str) -> ControllerState:
    found = ControllerState.of(record(annexes, name))
    assert found is not None
    return found


def live(annexes: Annexes, name: str) -> list[str]:
    return [w.id for w in record(annexes, name).live_workers]


def running_workers(annexes: Annexes, name: str) -> int:
    return sum(1 for w in record(annexes, name).workers if w.state == WorkerState.RUNNING)


def controller_pid(home: Path) -> int | None:
    path = home / PID
    try:
        pid = int(path.read_text())
    except (OSError, ValueError):
        return None
    return pid if psutil.pid_exists(pid) else None


def wait_view(annexes: Annexes, name: str, key: str, timeout: float = 60) -> dict[str, Any]:
    """The controller's view once it holds `key` (it has stepped the annex)."""
    wait_for(lambda: key in state(annexes, name).view, timeout, f"the controller's {key}", 0.5)
    return state(annexes, name).view


def autoscaler_ads(annexes: Annexes) -> list[classad2.ClassAd]:
    """What HTCondor's own condor_status -any shows of the controller, as ClassAds."""
    argv = annexes.tool(
        ["condor_status", "-any", "-constraint", 'MyType == "AnnexAutoscaler"', "-long"],
        cwd=Path("/"),
    )
    out = subprocess.run(argv, capture_output=True, text=True, check=True).stdout
    return [classad2.parseOne(block) for block in out.split("\n\n") if block.strip()]


@pytest.fixture
def controller_log(home: Path) -> Iterator[None]:
    """After the test, the controller's log, for a failing test's report (pytest shows
    what a failing test printed). Test modules use it with pytest.mark.usefixtures."""
    yield
    log = home / "autoscaler.log"
    if log.is_file():
        print(log.read_text()[-20000:])
