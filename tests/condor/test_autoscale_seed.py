"""On a seed, the elastic annex controller is a daemon of HTCondor's condor_master: the seed
role lists ANNEX_AUTOSCALER in DAEMON_LIST, and the real master reads it, starts the
daemon with the role's arguments and environment, and starts it again when it dies.

What this proves and what it does not: the master here runs in the HTCondor runtime's
Debian 13 root, which cannot run this virtualenv's Python, so the role is written with a
small shell script in the Python's place (a command the root can run) that records how it
was started and then sleeps. The real master's handling of the entry (listing, arguments,
environment, restart after SIGKILL, stop when the entry goes) is proven that way. That
the controller itself runs with exactly the role's arguments is proven separately, by
running that command line outside the master; the two together are not run here (that
needs a native HTCondor, as on a real seed).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import psutil

from condor_annex import Annexes
from condor_annex.autoscale.daemon import PID
from condor_annex.seed import Autoscaler, configure_seed
from condor_annex.waiting import wait_for

FAKE = """#!/bin/sh
echo "$$ uid=$(id -u) home=$CONDOR_ANNEX_HOME args=$*" >> "{record}"
exec sleep 600
"""


def _config_val(annexes: Annexes, name: str) -> str:
    argv = annexes.tool(["condor_config_val", name], cwd=Path("/"))
    return subprocess.run(argv, capture_output=True, text=True, check=True).stdout.strip()


def _reconfig(annexes: Annexes) -> None:
    argv = annexes.tool(["condor_reconfig"], cwd=Path("/"))
    subprocess.run(argv, check=True, capture_output=True)


def _started(record: Path) -> list[list[str]]:
    if not record.is_file():
        return []
    return [line.split(" ", 3) for line in record.read_text().splitlines() if line]


def test_the_seed_master_starts_and_restarts_the_controller(annexes: Annexes) -> None:
    layout = annexes.pool.seed_layout
    home = annexes.store.home
    record = home / "autoscaler-started.txt"
    fake = home / "fake-autoscaler.sh"  # the state home is visible inside the runtime's root
    fake.write_text(FAKE.format(record=record))
    fake.chmod(0o755)
    assert "ANNEX_AUTOSCALER" not in _config_val(annexes, "DAEMON_LIST").split()  # local pool

    configure_seed(replace(layout, autoscaler=Autoscaler(python=fake, home=home)))
    assert "ANNEX_AUTOSCALER" in _config_val(annexes, "DAEMON_LIST").split()
    _reconfig(annexes)
    wait_for(lambda: len(_started(record)) >= 1, 60, "the master to start the controller", 0.5)
    (pid, uid, env_home, args) = _started(record)[0]
    log_dir = _config_val(annexes, "LOG")
    expected = f"-m condor_annex.autoscale.daemon {home} --stay --log {log_dir}/AnnexAutoscalerLog"
    assert args == f"args={expected}"
    assert env_home == f"home={home}"
    assert uid == "uid=0"  # as the master: the controller needs the pool's signing key

    os.kill(int(pid), signal.SIGKILL)
    wait_for(lambda: len(_started(record)) >= 2, 60, "the master to start it again", 0.5)
    again = int(_started(record)[1][0])
    assert again != int(pid) and psutil.pid_exists(again)

    configure_seed(layout)  # the role as the local pool has it: no controller entry
    _reconfig(annexes)
    wait_for(lambda: not psutil.pid_exists(again), 60, "the master to stop it", 0.5)


def test_the_role_command_line_runs_the_controller(annexes: Annexes, workdir: Path) -> None:
    """The arguments the role gives the master run the controller as a daemon: it takes
    its state home, stays with nothing to do, logs where told, and stops on SIGTERM."""
    home = annexes.store.home
    log = workdir / "AnnexAutoscalerLog"
    args = Autoscaler(Path(sys.executable), home).args().replace("$(LOG)", str(workdir))
    proc = subprocess.Popen([sys.executable, *args.split()], stdin=subprocess.DEVNULL)
    try:
        wait_for((home / PID).is_file, 30, "the controller's pid file", 0.2)
        assert int((home / PID).read_text()) == proc.pid
        wait_for(lambda: log.is_file() and "running" in log.read_text(), 30, "its log", 0.2)
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
    assert "stopped (SIGTERM)" in log.read_text()
    assert not (home / PID).exists()
