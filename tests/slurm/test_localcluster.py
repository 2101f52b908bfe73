"""The local Slurm: real daemons, and real jobs submitted as an ordinary user.

A one-minute time limit takes a minute to pass at least, so that job is submitted when the
module starts and checked near its end, while the other tests run.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest
from tests.slurm.jobs import USER, ended, new_jobdir, run, submit, wait_states

from condor_annex.providers.slurm import rootprocs
from condor_annex.providers.slurm.localcluster import DAEMONS, LocalSlurm
from condor_annex.runtime import mounts
from condor_annex.waiting import wait_for

pytestmark = pytest.mark.slurm


def read_pid(path: Path, timeout: float = 30) -> int:
    wait_for(lambda: path.is_file() and path.read_text().strip() != "", timeout, str(path))
    return int(path.read_text())


def running(pid: int) -> bool:
    try:
        return rootprocs.alive(psutil.Process(pid))
    except psutil.NoSuchProcess:
        return False


def output(jobdir: Path) -> str:
    return "".join(p.read_text() for p in sorted(jobdir.glob("*.out")))


@pytest.fixture(scope="module", autouse=True)
def limited_job(slurm: LocalSlurm, slurm_user: tuple[int, int]) -> Iterator[str]:
    """A job that would sleep ten minutes, under a one-minute limit."""
    path = new_jobdir(slurm_user)
    yield submit(slurm, path, "sleep 600", "--time=1")
    shutil.rmtree(path, ignore_errors=True)


def test_up_again_is_a_no_op(slurm: LocalSlurm) -> None:
    before = slurm.status()
    assert before.up
    assert slurm.up() is False
    assert slurm.status().daemons == before.daemons


def test_a_job_of_an_ordinary_user_completes(slurm: LocalSlurm, jobdir: Path) -> None:
    job = submit(slurm, jobdir, 'id -un; echo "job $SLURM_JOB_ID in $(pwd)"')
    assert ended(slurm, job) == {job: ("COMPLETED", "None")}
    assert output(jobdir) == f"{USER}\njob {job} in {jobdir}\n"


def test_a_batch_job_runs_htcondor_tools(slurm: LocalSlurm, jobdir: Path) -> None:
    """The pilot will start condor_master: HTCondor is on the job's PATH, as in the root."""
    job = submit(slurm, jobdir, "condor_version")
    assert ended(slurm, job) == {job: ("COMPLETED", "None")}
    assert f"$CondorVersion: {slurm.runtime.version()} " in output(jobdir)


def test_an_array_of_four_runs_all_at_once(slurm: LocalSlurm, jobdir: Path) -> None:
    # Each task waits (bounded) until all four have started; it succeeds only if they did.
    barrier = (
        'touch "started.$SLURM_ARRAY_TASK_ID"; n=0\n'
        'while [ "$(ls started.* | wc -l)" -lt 4 ]; do\n'
        '  n=$((n + 1)); [ "$n" -lt 300 ] || exit 1; sleep 0.1\n'
        "done"
    )
    job = submit(slurm, jobdir, barrier, "--array=1-4")
    final = ended(slurm, job, tasks=4)
    assert final == {f"{job}_{i}": ("COMPLETED", "None") for i in range(1, 5)}
    assert sorted(p.name for p in jobdir.glob("started.*")) == [f"started.{i}" for i in range(1, 5)]


def test_scancel_ends_a_process_that_left_the_job_process_group(
    slurm: LocalSlurm, jobdir: Path
) -> None:
    """As HTCondor's daemons do (setsid): proctrack/pgid would leak it, ours must not."""
    body = "echo $$ > script.pid\nsetsid sh -c 'echo $$ > daemon.pid; exec sleep 600' &\nwait"
    job = submit(slurm, jobdir, body)
    script, daemon = read_pid(jobdir / "script.pid"), read_pid(jobdir / "daemon.pid")
    assert psutil.Process(daemon).name() == "sleep"
    assert psutil.Process(daemon).environ()["SLURM_JOB_ID"] == job
    assert os.getpgid(daemon) != os.getpgid(script)

    run(slurm, ["scancel", job])
    wait_for(lambda: not running(daemon), 60, "scancel to end the setsid process")
    assert ended(slurm, job) == {job: ("CANCELLED", "None")}
    assert not running(script)


def test_a_job_over_its_time_limit_ends_as_timeout(slurm: LocalSlurm, limited_job: str) -> None:
    # Slurm checks limits every 30 s and then allows KillWait (30 s) before SIGKILL.
    final = wait_states(
        slurm,
        limited_job,
        lambda s: s.get(limited_job, ("", ""))[0] == "TIMEOUT",
        timeout=150,
        what="the limited job to time out",
    )
    assert final == {limited_job: ("TIMEOUT", "TimeLimit")}


def test_bad_input_is_one_line_and_changes_nothing(slurm: LocalSlurm) -> None:
    before = slurm.status().daemons
    for args, message in (
        (["up", "--cpus", "0"], "Invalid value for '--cpus'"),
        (["up", "--cpus", "4"], "Slurm is up with another configuration"),
    ):
        done = subprocess.run(
            [sys.executable, "-m", "condor_annex.providers.slurm.cli", *args],
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode == 2, done.stderr
        assert message in done.stderr
        assert len(done.stderr.strip().splitlines()) == 1
    assert slurm.status().daemons == before


def test_down_leaves_nothing_and_up_comes_back(slurm: LocalSlurm, jobdir: Path) -> None:
    """Even a process that left its job's process tree (a daemonizing condor_master would)
    and so escaped Slurm's tracking is gone after down()."""
    mounted = mounts.mounts_below(slurm.root)
    body = "setsid -f sh -c 'echo $$ > escaped.pid; exec sleep 600'\nexec sleep 600"
    job = submit(slurm, jobdir, body)
    escaped = read_pid(jobdir / "escaped.pid")
    wait_states(slurm, job, lambda s: s.get(job, ("",))[0] == "RUNNING", 30, "job to run")

    stopped = slurm.down()

    assert stopped.jobs_cancelled >= 1
    assert stopped.daemons_stopped == len(DAEMONS)
    assert stopped.leftovers_killed >= 1  # the escaped process
    assert not running(escaped)
    assert slurm.leftovers() == []
    assert not slurm.is_up()
    assert not any(slurm.path(d.pidfile).exists() for d in DAEMONS)
    assert mounts.mounts_below(slurm.root) == mounted  # up() and down() mount nothing

    assert slurm.up() is True  # for whatever else this session runs
    assert slurm.is_up()
