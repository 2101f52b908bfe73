"""The Slurm provider end to end: real slurmctld and slurmd (the local cluster), real
HTCondor daemons (the local pool), jobs submitted as an ordinary user. Each pilot is one
task of the annex's job array and one HTCondor execute node."""

from __future__ import annotations

import math
import os
import signal
import subprocess
import time
from pathlib import Path

import htcondor2
import psutil
import pytest
from tests.condor.conftest import annexes, cli, home, jobdir, workdir  # noqa: F401
from tests.condor.jobs import submit, wait_done, wait_running, wait_slots
from tests.slurm.jobs import ACTIVE

from condor_annex import Annexes, poolquery
from condor_annex.errors import UsageError
from condor_annex.lifecycle import GoneReason
from condor_annex.providers.slurm.localcluster import LocalSlurm
from condor_annex.waiting import wait_for

pytestmark = [pytest.mark.condor, pytest.mark.slurm]


def slurm_states(cluster: LocalSlurm, array: str) -> dict[str, str]:
    argv = cluster.command(["squeue", "-h", "-r", "-t", "all", "-j", array, "-o", "%i|%T"])
    out = subprocess.run(argv, capture_output=True, text=True, check=False).stdout
    return dict(line.split("|") for line in out.split())


def all_jobs(cluster: LocalSlurm) -> list[str]:
    """Every job Slurm knows, in any state."""
    argv = cluster.command(["squeue", "-h", "-t", "all", "-o", "%i"])
    return subprocess.run(argv, capture_output=True, text=True, check=True).stdout.split()


def array_of(annexes: Annexes, name: str) -> str:  # noqa: F811
    return str(annexes.store.load_annex(name).provider_data["array"])


def pilot_processes(name: str) -> list[psutil.Process]:
    """condor_master and friends of this annex's pilots (their config is in its folder)."""
    found = []
    for proc in psutil.process_iter(["environ", "name"]):
        env = proc.info.get("environ") or {}
        if f"/providers/slurm/annexes/{name}/" in env.get("CONDOR_CONFIG", ""):
            found.append(proc)
    return found


def create(annexes: Annexes, name: str, count: int, lease: int, idle: int, **options: str) -> None:  # noqa: F811
    api = Annexes(home=annexes.store.home, options={"slurm": options} if options else None)
    api.create(api.request(name, count, lease, idle), "slurm")


def test_pilots_join_run_jobs_and_leave_when_idle(
    slurm: LocalSlurm,
    annexes: Annexes,  # noqa: F811
    jobdir: Path,  # noqa: F811
    cli,  # noqa: F811
) -> None:
    create(annexes, "hpc", 3, lease=600, idle=25)
    array = array_of(annexes, "hpc")
    assert len(slurm_states(slurm, array)) == 3  # one submission, three tasks
    wait_slots(annexes, "hpc", 3, timeout=90)
    listed = cli("exec", "--", "condor_status", "-annex", "hpc", "-af", "Name", "AnnexLeaseEnd")
    assert listed.returncode == 0, listed.stderr
    assert len(listed.stdout.split("\n")) >= 3 and f"@{array}_" in listed.stdout

    cluster = submit(annexes, jobdir, seconds=2, count=6)
    done = wait_done(annexes, cluster, timeout=180)
    hosts = {str(ad["LastRemoteHost"]) for ad in done}
    assert all(f"@{array}_" in host for host in hosts), hosts
    assert {ad["JobStatus"] for ad in done} == {4}

    # Idle for 25 s: every pilot leaves, its job completes, its allocation is free.
    wait_for(
        lambda: set(slurm_states(slurm, array).values()) == {"COMPLETED"},
        120,
        "the idle pilots' jobs to complete",
        interval=1.0,
    )
    (status,) = annexes.status("hpc")
    assert status.running == 0 and status.gone_reasons == {"exited": 3}
    assert not pilot_processes("hpc")


def test_lease_holds_through_the_worker_and_through_slurm(
    slurm: LocalSlurm,
    annexes: Annexes,  # noqa: F811
    jobdir: Path,  # noqa: F811
) -> None:
    """Both ends of a lease, with a job running: the worker's own (DAEMON_SHUTDOWN_FAST)
    and, with that one defeated, Slurm's time limit (the lease plus a grace)."""
    create(annexes, "own", 1, lease=40, idle=30)
    create(annexes, "limit", 1, lease=40, idle=30)
    wait_slots(annexes, "own", 1, timeout=90)
    wait_slots(annexes, "limit", 1, timeout=90)
    # Defeat the worker's own end in "limit": its pilot reads lease.config from the annex's
    # folder; push it far out and have the master reread it.
    folder = annexes.store.home / "providers/slurm/annexes/limit"
    (folder / "lease.config").write_text(f"AnnexLeaseEnd = {int(time.time()) + 86400}\n")
    for proc in pilot_processes("limit"):
        if proc.name() == "condor_master":
            os.kill(proc.pid, signal.SIGHUP)
    jobs = submit(annexes, jobdir, seconds=600, count=2)
    wait_running(annexes, jobs, count=2, timeout=90)
    lease_end = annexes.store.load_annex("own").lease_end
    own = array_of(annexes, "own")
    # The master leaves at the lease end by itself (DAEMON_SHUTDOWN_FAST), and the job with
    # it: ended, and not by Slurm's limit.
    wait_for(
        lambda: not set(slurm_states(slurm, own).values()) & ACTIVE,
        lease_end - time.time() + 60,
        "the worker to leave at its lease",
        interval=1.0,
    )
    assert slurm_states(slurm, own)[f"{own}_1"] != "TIMEOUT"
    assert time.time() >= lease_end  # not before the lease end
    limit = array_of(annexes, "limit")
    wait_for(
        lambda: slurm_states(slurm, limit) == {f"{limit}_1": "TIMEOUT"},
        240,
        "Slurm's time limit to end the pilot",
        interval=2.0,
    )
    (own,) = annexes.status("own")
    (ended,) = annexes.status("limit")
    assert own.gone_reasons == {"lease": 1} and ended.gone_reasons == {"lease": 1}
    # Slurm's SIGTERM reaches every daemon; the starter of the killed job is the last out.
    took = wait_for(
        lambda: not pilot_processes("own") and not pilot_processes("limit"),
        60,
        "the pilots' processes to end",
    )
    print(f"pilot processes gone {took:.1f}s after the jobs ended")


def test_off_leaves_no_pilot_and_no_slurm_job(
    slurm: LocalSlurm,
    annexes: Annexes,  # noqa: F811
) -> None:
    create(annexes, "gone", 2, lease=600, idle=300)
    wait_slots(annexes, "gone", 2, timeout=90)
    record = annexes.off("gone")
    assert {w.gone_reason for w in record.workers} == {GoneReason.OFF}
    states = slurm_states(slurm, array_of(annexes, "gone"))
    assert not set(states.values()) & ACTIVE, states
    assert not pilot_processes("gone")
    assert not (annexes.store.home / "providers/slurm/annexes/gone").exists()


def test_a_pilot_that_never_joins_shows_as_not_in_the_pool(
    slurm: LocalSlurm,
    annexes: Annexes,  # noqa: F811
) -> None:
    api = Annexes(home=annexes.store.home)
    # Nothing listens there: the pilot runs in Slurm but its startd never reaches the pool.
    api.create(api.request("lost", 1, 600, 300), "slurm", pool_address="127.0.0.1:9")
    array = array_of(annexes, "lost")
    wait_for(lambda: slurm_states(slurm, array).get(f"{array}_1") == "RUNNING", 60, "the pilot")
    (status,) = annexes.status("lost")
    assert status.not_in_pool == [f"{array}_1"] and status.states == {"booting": 1}
    annexes.off("lost")
    assert not pilot_processes("lost")


def test_bad_input_is_exit_2_and_submits_nothing(
    slurm: LocalSlurm,
    annexes: Annexes,  # noqa: F811
    cli,  # noqa: F811
) -> None:
    before = all_jobs(slurm)
    cases = [
        (["--partition", "gpu-huge"], "has no partition 'gpu-huge'; choose one of: debug, short"),
        (["--partition", "short", "--duration", "1h"], "partition short allows at most 10 min"),
        (["--login", "no-such-host.invalid"], "cannot reach the login host no-such-host.invalid"),
        (["--condor-path", "/a", "--condor-module", "b"], "not both"),
    ]
    for extra, needle in cases:
        proc = cli("create", "bad", "--provider", "slurm", "--count", "2", "--yes", *extra)
        lines = proc.stderr.strip().splitlines()
        assert proc.returncode == 2 and len(lines) == 1 and needle in lines[0], (extra, proc.stderr)
    after = all_jobs(slurm)
    assert after == before
    assert not annexes.store.has_annex("bad")


def test_no_slurm_found_is_exit_2(
    slurm: LocalSlurm,
    annexes: Annexes,  # noqa: F811
    cli,  # noqa: F811
) -> None:
    slurm.down()
    try:
        proc = cli("create", "none", "--provider", "slurm", "--yes")
        assert proc.returncode == 2, proc.stderr
        assert proc.stderr.strip() == (
            "annex: error: no Slurm found on this machine; start the local one with "
            "'annex slurm up', or give --login HOST for a cluster's login node"
        )
        assert not annexes.store.has_annex("none")
    finally:
        slurm.up()


def test_renew_lengthens_the_time_limit_and_the_workers_lease(
    slurm: LocalSlurm,
    annexes: Annexes,  # noqa: F811
) -> None:
    create(annexes, "longer", 1, lease=300, idle=120, partition="short")
    array = array_of(annexes, "longer")
    wait_slots(annexes, "longer", 1, timeout=90)

    def limit() -> str:
        argv = slurm.command(["squeue", "-h", "-j", array, "-o", "%l"])
        return subprocess.run(argv, capture_output=True, text=True, check=True).stdout.strip()

    assert limit() == "6:00"  # 300 s and the grace, in whole minutes
    record = annexes.renew("longer", 480)
    assert limit() == "9:00"
    collector = htcondor2.Collector(annexes.pool.require_up().collector)

    def advertised() -> set[int]:
        ads = collector.query(
            htcondor2.AdType.Startd, poolquery.annex_constraint("longer"), ["AnnexLeaseEnd"]
        )
        return {int(ad["AnnexLeaseEnd"]) for ad in ads}

    wait_for(lambda: advertised() == {math.ceil(record.lease_end)}, 30, "the pilot's new lease")
    # Where Slurm does not allow it (past the partition's limit), renew says so and
    # changes nothing.
    with pytest.raises(UsageError, match="partition short allows at most 10 min"):
        annexes.renew("longer", 3600)
    assert limit() == "9:00"
    annexes.off("longer")
