"""The controller process: steps every annex of one state home that has a controller part
(elastic annexes, and plain ones with a budget), each at its own interval.

    python -m condor_annex.autoscale.daemon STATE_HOME [--stay]

One runs per state home (an exclusive lock); a second exits at once. It is meant to run
supervised: under a seed's condor_master (the seed role lists it, with --stay: it idles
while there is nothing to do), or under the tool's own supervisor on the local pool
(supervisor.py), which restarts it when it dies. Nothing it needs is kept only in memory
(see state.py), so a restart picks up where it stopped. SIGTERM (the master's way to stop
it) ends it between steps.
"""

from __future__ import annotations

import argparse
import fcntl
import os
import signal
import sys
import time
import traceback
from pathlib import Path

from condor_annex.autoscale.state import ControllerState
from condor_annex.errors import UsageError
from condor_annex.store import Store

LOCK = "autoscaler.lock"
PID = "autoscaler.pid"
LINGER = 10.0  # without --stay: exit after this long with nothing to watch
NAP = 0.5
RETRY = 5.0  # after a step failed unexpectedly
ANOTHER = 3  # exit code: another controller already serves this state home


def log(message: str) -> None:
    print(f"{time.strftime('%Y-%m-%d %H:%M:%S')} {message}", flush=True)


def watched(store: Store) -> list[str]:
    """The annexes a controller must step (those whose controller part has not ended)."""
    names = []
    for name in store.annex_names():
        try:
            record = store.load_annex(name)
        except (UsageError, ValueError, OSError):
            continue  # removed or being written meanwhile
        state = ControllerState.of(record)
        if state is not None and state.active:
            names.append(name)
    return names


class Stop(Exception):
    pass


def _stop(_signum: int, _frame: object) -> None:
    raise Stop


def run(home: Path, stay: bool) -> int:
    home.mkdir(parents=True, exist_ok=True)
    with (home / LOCK).open("a") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return ANOTHER
        (home / PID).write_text(str(os.getpid()))
        signal.signal(signal.SIGTERM, _stop)
        try:
            return _loop(home, stay, lock.fileno())
        except Stop:
            log("stopped (SIGTERM)")
            return 0
        finally:
            (home / PID).unlink(missing_ok=True)


def _still_ours(home: Path, locked: int) -> bool:
    """The state home is still the one this process locked (not removed, nor removed and
    made again for another pool, whose own controller then holds a fresh lock file)."""
    try:
        return os.stat(home / LOCK).st_ino == os.fstat(locked).st_ino
    except FileNotFoundError:
        return False


def _loop(home: Path, stay: bool, locked: int) -> int:
    from condor_annex.api import Annexes
    from condor_annex.autoscale.control import Controller

    api = Annexes(home=home)  # settings (which pool, defaults) from HTCondor's config
    controller = Controller(api, log)
    due: dict[str, float] = {}
    idle_since: float | None = None
    log(f"controller running for {home} (pid {os.getpid()})")
    while True:
        if not _still_ours(home, locked):
            log("the state home is gone or replaced; exiting")
            return 0
        names = watched(api.store)
        if names:
            idle_since = None
        else:
            idle_since = idle_since or time.monotonic()
            if not stay and time.monotonic() - idle_since > LINGER:
                log("no annex to watch; exiting")
                return 0
        for name in names:
            if due.get(name, 0.0) > time.monotonic():
                continue
            try:
                wait = controller.step(name)
            except Exception as err:  # one annex's trouble must not stop the others
                log(f"{name}: step failed: {err}")
                traceback.print_exc(file=sys.stdout)
                wait = RETRY
            due[name] = time.monotonic() + (wait if wait is not None else RETRY)
        time.sleep(NAP)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="condor_annex.autoscale.daemon")
    parser.add_argument("home", type=Path)
    parser.add_argument("--stay", action="store_true", help="keep running with nothing to do")
    parser.add_argument("--log", type=Path, help="append output here (a master's daemon)")
    args = parser.parse_args(argv)
    if args.log is not None:
        with args.log.open("ab") as out:
            os.dup2(out.fileno(), sys.stdout.fileno())
            os.dup2(out.fileno(), sys.stderr.fileno())
    return run(args.home, args.stay)


if __name__ == "__main__":
    sys.exit(main())
