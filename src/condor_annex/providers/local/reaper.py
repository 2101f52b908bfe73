"""The local lease reaper: a process of its own that enforces every local lease.

It does not depend on the `annex` process that created an annex: that process may be
killed with SIGKILL and the reaper still ends each worker at lease end plus a short grace,
and cleans up workers that left by themselves (idle, condor_off). One reaper runs per
state home (an exclusive lock); it exits when no local worker is left alive.

    python -m condor_annex.providers.local.reaper STATE_HOME
"""

from __future__ import annotations

import fcntl
import sys
import time
from pathlib import Path

from condor_annex.providers.local.provider import settle
from condor_annex.store import Store

INTERVAL = 0.5
LINGER = 10.0  # stay this long with nothing to watch, in case an annex is being created


def reap_once(store: Store, now: float) -> int:
    """Settle every local annex once; returns how many workers are still alive."""
    alive = 0
    with store.lock():
        for annex in store.annexes():
            if annex.provider != "local":
                continue
            if settle(store, annex, now):
                store.save_annex(annex)
            alive += len(annex.live_workers)
    return alive


def run(home: Path) -> int:
    store = Store(home)
    home.mkdir(parents=True, exist_ok=True)
    with (home / "reaper.lock").open("a") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return 0  # another reaper already watches this home
        idle_since = None
        while True:
            if not home.is_dir():
                return 0
            if reap_once(store, time.time()):
                idle_since = None
            else:
                idle_since = idle_since or time.monotonic()
                if time.monotonic() - idle_since > LINGER:
                    return 0
            time.sleep(INTERVAL)


if __name__ == "__main__":
    sys.exit(run(Path(sys.argv[1])))
