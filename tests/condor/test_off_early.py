"""condor_off -annex, run the moment condor_status -annex shows an annex's slots, reaches
every worker: a worker's master advertises no later than its startd."""

from __future__ import annotations

import subprocess

from tests.condor.jobs import wait_gone

from condor_annex import Annexes
from condor_annex.waiting import wait_for


def _tool(annexes: Annexes, *argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(annexes.tool(list(argv)), capture_output=True, text=True, check=False)


def test_condor_off_annex_right_after_the_slots_appear(annexes: Annexes) -> None:
    record = annexes.create(annexes.request("early", 2, lease_seconds=600, idle_seconds=300))
    workers = sorted(w.id for w in record.workers)

    def slots() -> list[str]:
        shown = _tool(annexes, "condor_status", "-annex", "early", "-af", "AnnexInstanceID")
        return sorted(shown.stdout.split())

    wait_for(lambda: slots() == workers, 60, "condor_status -annex to show the slots", 0.1)
    off = _tool(annexes, "condor_off", "-annex", "early")

    assert off.returncode == 0, off.stdout + off.stderr
    for worker in workers:  # one "Sent ... to master <worker>" line each
        assert any(worker in line and "master" in line for line in off.stdout.splitlines()), (
            off.stdout
        )
    wait_gone(annexes, "early", timeout=60)
