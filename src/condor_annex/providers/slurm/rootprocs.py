"""The processes of a Slurm that runs in one root (the runtime's chroot, or this machine's /).

A process belongs to the cluster when /proc/PID/root is the cluster's root and either its
command name is one of Slurm's or munge's, or it carries SLURM_JOB_ID: a job, or anything a
job started, even a process that left the job's tree and so escaped Slurm's own tracking.
Zombies count as gone (PID 1 on these machines does not always reap them).
"""

from __future__ import annotations

import contextlib
import os
import signal
from collections.abc import Iterable
from pathlib import Path

import psutil

from condor_annex.errors import AnnexError
from condor_annex.waiting import wait_for

# Command names (/proc/PID/comm) of everything Slurm and munge run.
SLURM_NAMES = frozenset({"munged", "slurmctld", "slurmscriptd", "slurmd", "slurmstepd"})


def root_of(pid: int) -> Path | None:
    try:
        return Path(os.readlink(f"/proc/{pid}/root"))
    except OSError:
        return None


def alive(proc: psutil.Process) -> bool:
    try:
        return proc.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def pid_from_file(pidfile: Path, name: str, root: Path) -> int | None:
    """The live process a pid file names, if it is `name` in `root`; None for a stale file
    (slurmctld cannot remove its own, and pids are reused)."""
    try:
        pid = int(pidfile.read_text().split()[0])
        proc = psutil.Process(pid)
        if proc.name() == name and alive(proc) and root_of(pid) == root:
            return pid
    except (OSError, ValueError, IndexError, psutil.Error):
        pass
    return None


def cluster_processes(root: Path) -> list[psutil.Process]:
    """Every live daemon and job process of the Slurm in `root` (never this process or its
    ancestors, which may themselves run in a Slurm job)."""
    own = {os.getpid(), *(p.pid for p in psutil.Process().parents())}
    found = []
    for proc in psutil.process_iter(["name"]):
        if proc.pid in own or root_of(proc.pid) != root:
            continue
        try:
            if proc.info["name"] in SLURM_NAMES or "SLURM_JOB_ID" in proc.environ():
                found.append(proc)
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            continue
    return [p for p in found if alive(p)]


def describe(procs: Iterable[psutil.Process]) -> str:
    names = []
    for proc in procs:
        with contextlib.suppress(psutil.Error):
            names.append(f"{proc.name()} ({proc.pid})")
    return ", ".join(names)


def end(procs: list[psutil.Process], sig: signal.Signals, timeout: float) -> list[psutil.Process]:
    """Send `sig` to each process and wait up to `timeout` for all to go; returns survivors."""
    for proc in procs:
        with contextlib.suppress(psutil.NoSuchProcess):
            proc.send_signal(sig)
    with contextlib.suppress(TimeoutError):
        wait_for(lambda: not any(alive(p) for p in procs), timeout, "processes to end", 0.05)
    return [p for p in procs if alive(p)]


def kill(procs: list[psutil.Process], timeout: float = 10.0) -> None:
    """SIGKILL; raises if any survives (a process in uninterruptible sleep, say)."""
    left = end(procs, signal.SIGKILL, timeout)
    if left:
        raise AnnexError(f"still running after SIGKILL: {describe(left)}")
