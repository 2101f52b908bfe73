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
from collections.abc import Callable
from pathlib import Path

from condor_annex.errors import UsageError
from condor_annex.providers.local.provider import TIMING, observe
from condor_annex.settle import settle
from condor_annex.store import Store

NAME = "local"
Say = Callable[[str], None]
INTERVAL = 0.5
LINGER = 10.0  # stay this long with nothing to watch, in case an annex is being created


def reap_once(store: Store, now: float) -> int:
    """Settle every local annex once; returns how many workers are still alive.

    Each annex is looked at without any lock, then its record is updated under its own
    lock: another annex's slow launch (a cloud call) never holds the reaper up.
    """
    alive = 0
    for name in store.annex_names():
        try:
            annex = store.load_annex(name)
        except UsageError:
            continue  # removed meanwhile
        if annex.provider != NAME or not annex.live_workers:
            continue
        seen = observe(store, annex, now)
        with store.editing(name) as record:
            settle(record, seen, now, TIMING)
            alive += len(record.live_workers)
    return alive


class LocalReaper:
    """The "reaper" capability: `annex reap --provider local`."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def reap(self, now: float, say: Say) -> bool:
        alive = reap_once(self.store, now)
        say(f"Local reaper: {alive} workers within their lease.")
        return True


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
