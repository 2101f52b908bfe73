"""The Slurm provider's reading of Slurm's own output (no daemons): squeue lines to
observations, sinfo's time limits, and the pilot script's lint."""

from __future__ import annotations

import shutil
import subprocess
from importlib import resources

import pytest

from condor_annex.interfaces import Seen
from condor_annex.lifecycle import GoneReason
from condor_annex.providers.slurm import squeue
from condor_annex.providers.slurm.localcluster import port_numbers
from condor_annex.providers.slurm.partitions import slurm_seconds
from condor_annex.providers.slurm.provider import GRACE_SECONDS, time_limit_minutes


def test_squeue_lines_become_observations() -> None:
    out = (
        "25_1|RUNNING|None|2026-11-30T02:51:40\n"
        "25_2|PENDING|Resources|N/A\n"
        "25_3|TIMEOUT|TimeLimit|2026-11-30T02:51:40\n"
        "25_4|COMPLETED|None|2026-11-30T02:51:40\n"
        "25_5|CANCELLED+|None|Unknown\n"
        "garbage line\n"
    )
    seen = {o.id: o for o in squeue.parse(out)}
    assert set(seen) == {"25_1", "25_2", "25_3", "25_4", "25_5"}
    assert seen["25_1"].seen == Seen.STARTED and seen["25_1"].started_at
    assert (seen["25_2"].seen, seen["25_2"].detail) == (Seen.PENDING, "pending: Resources")
    assert (seen["25_3"].seen, seen["25_3"].ended_by) == (Seen.ENDED, GoneReason.LEASE)
    assert seen["25_4"].seen == Seen.ENDED and seen["25_4"].ended_by is None
    assert seen["25_5"].seen == Seen.ENDED
    assert squeue.live(list(seen.values())) == ["25_1", "25_2"]


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("infinite", None),
        ("UNLIMITED", None),
        ("10:00", 600),
        ("1:00:00", 3600),
        ("1-00:00:00", 86400),
        ("2-03:04:05", 2 * 86400 + 3 * 3600 + 4 * 60 + 5),
        ("30", 1800),
    ],
)
def test_slurm_time_limits(text: str, seconds: float | None) -> None:
    assert slurm_seconds(text) == seconds


def test_time_limit_is_the_lease_plus_the_grace_in_whole_minutes() -> None:
    assert time_limit_minutes(1000.0 + 600, 1000.0) == -(-(600 + GRACE_SECONDS) // 60)
    assert time_limit_minutes(1000.0, 1000.0) == 1  # never zero: Slurm reads 0 as no limit


def test_pilot_script_passes_shellcheck() -> None:
    shellcheck = shutil.which("shellcheck")
    if shellcheck is None:  # scripts/bootstrap --test installs it
        pytest.skip("shellcheck is not installed")
    script = resources.files("condor_annex.providers.slurm") / "templates" / "pilot.sh"
    proc = subprocess.run([shellcheck, str(script)], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout


def test_reserved_port_lists_are_read_with_their_ranges() -> None:
    assert port_numbers("") == set()
    assert port_numbers("22,6817-6818") == {22, 6817, 6818}
