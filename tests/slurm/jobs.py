"""Submitting batch jobs as an ordinary user and waiting on their states (bounded)."""

from __future__ import annotations

import os
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path

from condor_annex.providers.slurm.localcluster import LocalSlurm
from condor_annex.waiting import wait_for

USER = "annexuser"  # the same ordinary user as the HTCondor tests'
BASE = Path("/tmp/condor-annex-tests")

# squeue's view of a job or array: task id ("7", "8_2") -> (state, reason).
States = dict[str, tuple[str, str]]
# The states of a job that has not ended yet (COMPLETING: its processes are still going).
ACTIVE = frozenset(
    {"PENDING", "CONFIGURING", "RUNNING", "SUSPENDED", "COMPLETING", "REQUEUED", "SIGNALING"}
)


def new_jobdir(owner: tuple[int, int]) -> Path:
    """A directory the user owns, under /tmp (which the runtime's root shares)."""
    BASE.mkdir(mode=0o755, exist_ok=True)
    path = Path(tempfile.mkdtemp(dir=BASE, prefix="slurm-"))
    os.chmod(path, 0o755)  # noqa: S103 - Slurm's daemons and the user both reach it
    os.chown(path, *owner)
    return path


def submit(cluster: LocalSlurm, jobdir: Path, body: str, *options: str) -> str:
    """sbatch a shell script with `body` as USER from `jobdir`; returns the job (array) id."""
    script = jobdir / "job.sh"
    script.write_text("#!/bin/sh\n" + body + "\n")
    os.chmod(script, 0o755)  # noqa: S103
    os.chown(script, jobdir.stat().st_uid, jobdir.stat().st_gid)
    sbatch = ["sbatch", "--parsable", f"--output={jobdir}/%j.out", *options, str(script)]
    done = run(cluster, sbatch, cwd=jobdir)
    return done.stdout.strip()


def run(
    cluster: LocalSlurm, argv: list[str], cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """A Slurm client command as USER; fails the test if it fails."""
    argv = cluster.command(argv, USER, cwd=str(cwd) if cwd else None)
    done = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=60)
    assert done.returncode == 0, done.stderr
    return done


def states(cluster: LocalSlurm, job: str) -> States:
    out = run(cluster, ["squeue", "-h", "-t", "all", "-j", job, "-o", "%i|%T|%r|%u"]).stdout
    found = {}
    for line in out.splitlines():
        task, state, reason, user = line.split("|")
        assert user == USER
        found[task] = (state, reason)
    return found


def wait_states(
    cluster: LocalSlurm, job: str, done: Callable[[States], bool], timeout: float, what: str
) -> States:
    seen: States = {}

    def check() -> bool:
        seen.clear()
        seen.update(states(cluster, job))
        return done(seen)

    try:
        wait_for(check, timeout, what, 0.2)
    except TimeoutError as err:
        raise AssertionError(f"{err}; squeue shows {seen}") from None
    return seen


def ended(cluster: LocalSlurm, job: str, tasks: int = 1, timeout: float = 60) -> States:
    """Wait until all `tasks` of the job have ended; returns their final states."""
    return wait_states(
        cluster,
        job,
        lambda s: len(s) == tasks and not any(st in ACTIVE for st, _ in s.values()),
        timeout,
        f"job {job} to end",
    )
