"""`condor_annex` with the classic single-dash flags drives the same annexes."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from tests.commands import run_command
from tests.condor.jobs import wait_slots

from condor_annex import Annexes


def test_classic_create_status_renew_and_bad_input(annexes: Annexes, home: Path) -> None:
    def classic(*args: str) -> subprocess.CompletedProcess[str]:
        return run_command("condor_annex", *args, env={"CONDOR_ANNEX_HOME": str(home)})

    made = classic("-count", "2", "-duration", "0.25", "-idle", "0.1", "-annex-name", "old", "-yes")
    assert made.returncode == 0, made.stderr
    wait_slots(annexes, "old", 2)
    (status,) = json.loads(classic("-status", "-annex-name", "old", "-classad").stdout)
    assert status["running"] == 2 and status["idle_seconds"] == 360
    assert 800 < status["lease_left_seconds"] <= 900

    renewed = classic("-annex-name", "old", "-duration", "2")
    assert renewed.returncode == 0, renewed.stderr
    assert annexes.status("old")[0].lease_left_seconds > 7000

    for args, needle in [
        (["-count", "0", "-annex-name", "zero", "-yes"], "below 1"),
        (["-count", "1", "-annex-name", "bad_name", "-yes"], "letters, digits"),
        (["-count", "1", "-annex-name", "x", "-duration", "soon", "-yes"], "not a duration"),
        (["-annex-name", "nosuch", "-duration", "1"], "no annex named"),
        (["-count", "1", "-annex-name", "ask"], "-yes"),
        (["-frobnicate"], "unrecognized"),
    ]:
        proc = classic(*args)
        assert proc.returncode == 2, (args, proc.stderr)
        assert len(proc.stderr.strip().splitlines()) == 1 and needle in proc.stderr
    assert annexes.store.annex_names() == ["old"]
