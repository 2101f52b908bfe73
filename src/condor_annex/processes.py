"""Starting and stopping HTCondor process trees that must outlive the process that started them.

Every tree is tagged with an environment variable (CONDOR_ANNEX_PROC=<tag>) that the
daemons inherit, so a tree can be found and killed even after its master has died and its
children were re-parented. Liveness is checked against the start time as well as the pid,
and zombies count as dead (PID 1 on these machines does not always reap them).
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path

import psutil

TAG_VARIABLE = "CONDOR_ANNEX_PROC"


def spawn_detached(argv: Sequence[str], log: Path) -> tuple[int, float]:
    """Start argv in its own session (immune to the caller's death); returns (pid, start time)."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as out:
        proc = subprocess.Popen(
            list(argv),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            close_fds=True,
        )
    return proc.pid, psutil.Process(proc.pid).create_time()


def is_alive(pid: int | None, started: float | None) -> bool:
    if pid is None:
        return False
    try:
        proc = psutil.Process(pid)
        if started is not None and abs(proc.create_time() - started) > 0.05:
            return False  # the pid was reused by someone else
        return proc.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def tagged(tag: str) -> list[psutil.Process]:
    """Processes carrying the tag, and all of their descendants."""
    found: dict[int, psutil.Process] = {}
    needle = f"{tag}"
    for proc in psutil.process_iter():
        try:
            if proc.environ().get(TAG_VARIABLE) == needle:
                found[proc.pid] = proc
                for child in proc.children(recursive=True):
                    found[child.pid] = child
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            continue
    return [p for p in found.values() if p.pid != os.getpid()]


def kill_tagged(tag: str, timeout: float = 10.0) -> int:
    """SIGKILL every process of the tree; returns how many were killed. Repeats until none."""
    killed = 0
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        procs = [p for p in tagged(tag) if _running(p)]
        if not procs:
            return killed
        for proc in procs:
            try:
                proc.send_signal(signal.SIGKILL)
                killed += 1
            except psutil.NoSuchProcess:
                pass
        # Not psutil.wait_procs: these are not our children, and a zombie that PID 1 does
        # not reap would make it wait out its whole timeout for every worker.
        settle_deadline = time.monotonic() + 2
        while any(_running(p) for p in procs) and time.monotonic() < settle_deadline:
            time.sleep(0.05)
    raise TimeoutError(f"processes tagged {tag} survived SIGKILL for {timeout}s")


def _running(proc: psutil.Process) -> bool:
    try:
        return proc.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def stop_tree(pid: int | None, started: float | None, tag: str, grace: float) -> None:
    """SIGTERM the root (HTCondor's graceful shutdown), wait `grace`, then kill what is left."""
    if is_alive(pid, started):
        assert pid is not None
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline and is_alive(pid, started):
            time.sleep(0.2)
    kill_tagged(tag)
