"""The `annex` command: bad input gets one line and exit 2 and creates nothing, an earlier
annex stays undisturbed; good input works with --json and `exec`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tests.condor.jobs import wait_slots

from condor_annex import Annexes

BAD_CREATE = [
    pytest.param(["create", "bad_name", "--yes"], "letters, digits", id="underscore"),
    pytest.param(["create", "a" * 64, "--count", "1", "--yes"], "at most 63", id="too-long"),
    pytest.param(["create", "zero", "--count", "0", "--yes"], "below 1", id="count-0"),
    pytest.param(["create", "many", "--count", "4", "--yes"], "maximum of 3", id="count-max"),
    pytest.param(["create", "dur", "--duration", "abc", "--yes"], "not a duration", id="duration"),
    pytest.param(
        ["create", "idle", "--duration", "10m", "--idle", "1h", "--yes"],
        "longer than the lease",
        id="idle-over-lease",
    ),
    pytest.param(["create", "ask", "--count", "1"], "--yes", id="unconfirmed"),
    pytest.param(["create", "mem", "--memory", "lots", "--yes"], "memory size", id="memory"),
    pytest.param(["status", "nosuch"], "no annex named 'nosuch'", id="status-unknown"),
    pytest.param(["off", "nosuch"], "no annex named 'nosuch'", id="off-unknown"),
    pytest.param(["renew", "nosuch", "--duration", "1h"], "no annex named", id="renew-unknown"),
    pytest.param(["renew", "keep", "--duration", "forever"], "not a duration", id="renew-dur"),
    pytest.param(["pool", "up"], "already up", id="second-pool-up"),
    pytest.param(["create", "x", "--provider", "moon"], "moon", id="provider"),
]


def _assert_one_line_error(proc, needle: str) -> None:  # type: ignore[no-untyped-def]
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    assert needle in lines[0]


@pytest.fixture
def keep(annexes: Annexes) -> list[str]:
    """An annex that must stay untouched by every bad command."""
    record = annexes.create(annexes.request("keep", count=1, lease_seconds=600, idle_seconds=300))
    wait_slots(annexes, "keep", 1)
    return [w.id for w in record.workers]


def test_bad_input_is_one_line_exit_2_and_creates_nothing(
    annexes: Annexes,
    keep: list[str],
    cli,  # type: ignore[no-untyped-def]
) -> None:
    env = {"_CONDOR_ANNEX_DEFAULT_MAX_COUNT": "3"}
    for case in BAD_CREATE:
        args, needle = case.values
        proc = cli(*args, env=env)
        _assert_one_line_error(proc, needle)
        assert annexes.store.annex_names() == ["keep"], case.id
    (status,) = annexes.status("keep")
    assert status.running == 1 and status.slots == 1
    assert [w.id for w in annexes.store.load_annex("keep").live_workers] == keep
    assert sorted(p.name for p in annexes.store.workers_dir.iterdir()) == sorted(keep)


def test_missing_runtime_is_a_one_line_error(cli, home: Path) -> None:  # type: ignore[no-untyped-def]
    empty = home.parent / "no-runtime"
    empty.mkdir()
    proc = cli("pool", "up", env={"CONDOR_ANNEX_RUNTIME_DIR": str(empty)})
    _assert_one_line_error(proc, "annex runtime install")
    assert not (home / "pool").exists()


def test_status_json_and_exec(annexes: Annexes, cli) -> None:  # type: ignore[no-untyped-def]
    created = cli("create", "cli", "--count", "2", "--duration", "0.25", "--idle", "5m", "--yes")
    assert created.returncode == 0, created.stderr
    assert "Will start 2 local workers" in created.stdout
    wait_slots(annexes, "cli", 2)

    proc = cli("status", "cli", "--json")
    assert proc.returncode == 0, proc.stderr
    (status,) = json.loads(proc.stdout)
    assert status["name"] == "cli" and status["running"] == 2 and status["slots"] == 2
    assert 800 < status["lease_left_seconds"] <= 900  # 0.25 decimal hours
    assert status["idle_seconds"] == 300

    listed = cli("exec", "--", "condor_status", "-annex", "cli", "-af", "AnnexName")
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.split() == ["cli", "cli"]

    table = cli("status")
    assert table.returncode == 0 and "cli" in table.stdout
