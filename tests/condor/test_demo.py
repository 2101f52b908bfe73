"""The README's main command: `annex demo` runs real jobs on an annex and cleans up."""

from __future__ import annotations

from pathlib import Path

import psutil
import pytest
from tests.commands import run_command

from condor_annex.processes import TAG_VARIABLE

pytestmark = pytest.mark.machine  # looks for the demo's directories in /tmp


def _annex_processes() -> list[int]:
    found = []
    for proc in psutil.process_iter():
        try:
            env = proc.environ()
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            continue
        tag = env.get(TAG_VARIABLE, "")
        # The demo's own: other tests' workers may run beside it (the suite is parallel).
        ours = "condor-annex-demo-" in env.get("CONDOR_CONFIG", "")
        if "condor-annex-demo-" in tag or (tag.startswith("worker:") and ours):
            found.append(proc.pid)
    return found


def test_demo_runs_every_job_on_the_annex_and_cleans_up() -> None:
    before = set(_annex_processes())
    proc = run_command("annex", "demo", timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "10 of 10 jobs finished successfully on annex workers" in proc.stdout
    assert "Submitted 10 jobs" in proc.stdout and "as user annexdemo" in proc.stdout
    assert set(_annex_processes()) - before == set()
    assert not list(Path("/tmp").glob("condor-annex-demo-*"))
