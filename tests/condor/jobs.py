"""Submitting real jobs as an ordinary user and waiting for them (bounded, on conditions)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import classad2

from condor_annex import Annexes, poolquery
from condor_annex.waiting import wait_for

USER = "annexuser"


def submit(annexes: Annexes, jobdir: Path, seconds: int, count: int = 1) -> int:
    """Queue `count` jobs that sleep `seconds`, as USER; returns the cluster id."""
    uid, gid = annexes.runtime.ensure_user(USER)
    script = jobdir / "job.sh"
    script.write_text('#!/bin/sh\necho "ran on $(hostname) as $(id -un)"\nsleep "$1"\n')
    os.chmod(script, 0o755)  # noqa: S103
    sub = jobdir / "job.sub"
    sub.write_text(
        f"executable = job.sh\narguments = {seconds}\noutput = job.$(Process).out\n"
        "error = job.$(Process).err\nlog = job.log\nrequest_cpus = 1\nrequest_memory = 64\n"
        f"request_disk = 1024\nshould_transfer_files = YES\nqueue {count}\n"
    )
    for path in (script, sub):
        os.chown(path, uid, gid)
    argv = annexes.tool(["condor_submit", "-terse", "job.sub"], user=USER, cwd=jobdir)
    proc = subprocess.run(argv, capture_output=True, text=True, check=True)
    return int(proc.stdout.split(".")[0])


def queue(annexes: Annexes, cluster: int) -> list[classad2.ClassAd]:
    collector = annexes.pool.require_up().collector
    attrs = ["ProcId", "JobStatus", "RemoteHost", "NumJobStarts"]
    return poolquery.schedd_jobs(collector, f"ClusterId == {cluster}", attrs)


def history(annexes: Annexes, cluster: int) -> list[classad2.ClassAd]:
    collector = annexes.pool.require_up().collector
    attrs = ["ProcId", "JobStatus", "ExitCode", "LastRemoteHost", "Owner"]
    return poolquery.job_history(collector, f"ClusterId == {cluster}", attrs)


def wait_running(annexes: Annexes, cluster: int, count: int = 1, timeout: float = 90) -> None:
    wait_for(
        lambda: sum(1 for ad in queue(annexes, cluster) if ad.get("JobStatus") == 2) >= count,
        timeout,
        f"{count} jobs of cluster {cluster} to run",
        interval=0.5,
    )


def wait_idle(annexes: Annexes, cluster: int, timeout: float = 60) -> list[classad2.ClassAd]:
    """The cluster's jobs once all are idle again (an evicted job returns to the queue when
    the schedd hears its shadow exit, which can trail the worker's leaving)."""
    wait_for(
        lambda: all(ad.get("JobStatus") == 1 for ad in queue(annexes, cluster)),
        timeout,
        f"jobs of cluster {cluster} to be idle again",
        interval=0.5,
    )
    return queue(annexes, cluster)


def wait_done(annexes: Annexes, cluster: int, timeout: float = 180) -> list[classad2.ClassAd]:
    wait_for(lambda: not queue(annexes, cluster), timeout, f"cluster {cluster} to finish", 1.0)
    return history(annexes, cluster)


def wait_gone(annexes: Annexes, name: str, timeout: float = 90) -> float:
    """Seconds until every worker of the annex is gone (per the provider)."""
    return wait_for(
        lambda: annexes.status(name)[0].running == 0,
        timeout,
        f"annex {name} to be gone",
        interval=0.5,
    )


def wait_slots(annexes: Annexes, name: str, count: int, timeout: float = 60) -> float:
    return wait_for(
        lambda: annexes.status(name)[0].slots >= count,
        timeout,
        f"{count} slots of {name} in the pool",
        interval=0.5,
    )
