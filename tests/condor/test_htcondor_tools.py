"""HTCondor's own tools select annexes by AnnexName/IsAnnex: condor_status -annex and
condor_off -annex work on our workers, and touch no other annex."""

from __future__ import annotations

import subprocess

from tests.condor.jobs import wait_gone, wait_slots

from condor_annex import Annexes
from condor_annex.waiting import wait_for


def _tool(annexes: Annexes, *argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(annexes.tool(list(argv)), capture_output=True, text=True, check=False)


def test_condor_status_and_condor_off_by_annex(annexes: Annexes) -> None:
    a = annexes.create(annexes.request("alpha", count=2, lease_seconds=600, idle_seconds=300))
    b = annexes.create(annexes.request("alpha2", count=1, lease_seconds=600, idle_seconds=300))
    wait_slots(annexes, "alpha", 2)
    wait_slots(annexes, "alpha2", 1)

    listed = _tool(annexes, "condor_status", "-annex", "alpha", "-af", "AnnexInstanceID")
    assert listed.returncode == 0, listed.stderr
    assert sorted(listed.stdout.split()) == sorted(w.id for w in a.workers)

    def masters() -> list[str]:
        args = ("condor_status", "-master", "-annex", "alpha", "-af", "IsAnnex")
        return _tool(annexes, *args).stdout.split()

    wait_for(lambda: len(masters()) == 2, 30, "both masters to advertise")
    assert masters() == ["true", "true"]

    off = _tool(annexes, "condor_off", "-annex", "alpha")
    assert off.returncode == 0, off.stderr
    wait_gone(annexes, "alpha", timeout=60)

    # Exact names: turning off "alpha" left "alpha2" alone.
    (other,) = annexes.status("alpha2")
    assert other.running == 1 and other.slots == 1
    assert [w.id for w in annexes.store.load_annex("alpha2").live_workers] == [
        w.id for w in b.workers
    ]
