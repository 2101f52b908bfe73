"""The tool's own supervisor of the controller, where no condor_master can run it.

The local pool's condor_master lives in the HTCondor runtime's root (a Debian 13 chroot)
and cannot run this Python; so, as the local lease reaper does, the tool starts a small
process of its own. It starts the controller (daemon.py), and starts it again whenever it
dies other than by finishing (a crash, SIGKILL), after a short pause; it exits when the
controller exits by itself (nothing left to watch). One runs per state home (a lock).

    python -m condor_annex.autoscale.supervisor STATE_HOME
"""

from __future__ import annotations

import fcntl
import subprocess
import sys
import time
from pathlib import Path

from condor_annex.autoscale.daemon import ANOTHER, watched
from condor_annex.store import Store

LOCK = "autoscaler-supervisor.lock"
LOG = "autoscaler.log"
RESTART_PAUSE = 1.0
# A controller that keeps dying at once is started again ever more slowly, up to this.
LONGEST_PAUSE = 30.0
QUICK_DEATH = 10.0


def command(home: Path, module: str) -> list[str]:
    return [sys.executable, "-m", f"condor_annex.autoscale.{module}", str(home)]


def run(home: Path) -> int:
    home.mkdir(parents=True, exist_ok=True)
    with (home / LOCK).open("a") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return 0  # another supervisor already watches this home
        pause = RESTART_PAUSE
        while True:
            started = time.monotonic()
            with (home / LOG).open("ab") as out:
                code = subprocess.call(
                    command(home, "daemon"), stdin=subprocess.DEVNULL, stdout=out, stderr=out
                )
            if code == ANOTHER or not home.is_dir():
                return 0
            if code == 0:
                if not watched(Store(home)):  # an annex may have come as it was leaving
                    return 0
                continue
            with (home / LOG).open("a") as out:
                out.write(f"supervisor: the controller exited with {code}; starting it again\n")
            quick = time.monotonic() - started < QUICK_DEATH
            pause = min(LONGEST_PAUSE, pause * 2) if quick else RESTART_PAUSE
            time.sleep(pause)


def ensure_supervisor(home: Path) -> None:
    """Start the supervisor unless one runs for this state home (it holds a lock)."""
    home.mkdir(parents=True, exist_ok=True)
    with (home / LOG).open("ab") as out:
        subprocess.Popen(
            command(home, "supervisor"),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            close_fds=True,
        )


if __name__ == "__main__":
    sys.exit(run(Path(sys.argv[1])))
