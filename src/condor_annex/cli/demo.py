"""`annex demo`: a pool, an annex of workers, real jobs as an ordinary user, status, cleanup.

Everything lives in a fresh state home under /tmp and is removed at the end, so the demo
never touches a pool you already run. Exit 0 only if every job finished successfully on a
worker of the annex.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from condor_annex import poolquery
from condor_annex.api import Annexes
from condor_annex.cli.render import print_status
from condor_annex.errors import AnnexError
from condor_annex.templates import render

DEMO_USER = "annexdemo"
ANNEX = "demo"
JOB_TIMEOUT = 300


def run_demo(
    console: Console, jobs: int = 10, workers: int = 2, provider: str | None = None
) -> int:
    """The demo through `provider` (default: the configured one); what the provider needs
    on this machine (a local batch system, say) is brought up for it and taken down."""
    home = Path(tempfile.mkdtemp(prefix="condor-annex-demo-"))
    jobdir = home / "jobs"
    annexes = Annexes(home=home)
    say = lambda message: console.print(message, markup=False)  # noqa: E731
    try:
        with annexes.standalone(provider, say=say):
            try:
                annexes.pool_up(say=say)
                request = annexes.request(ANNEX, workers, lease_seconds=900, idle_seconds=120)
                annexes.create(request, provider, confirm=lambda _: True, say=say)
                cluster = _submit(annexes, jobdir, jobs, console)
                _wait(annexes, cluster, jobs, console)
                print_status(annexes.status(ANNEX), console)
                return _verdict(annexes, cluster, jobs, console)
            finally:
                say("Cleaning up: annex off, pool down...")
                if annexes.store.has_annex(ANNEX):
                    annexes.off(ANNEX, timeout=30)
                annexes.pool_down()
    except AnnexError as err:
        console.print(f"[red]demo failed:[/] {err}")
        return 1
    finally:
        shutil.rmtree(home, ignore_errors=True)


def _submit(annexes: Annexes, jobdir: Path, jobs: int, console: Console) -> int:
    uid, gid = annexes.runtime.ensure_user(DEMO_USER)
    (jobdir / "out").mkdir(parents=True)
    (jobdir / "demo.sub").write_text(render("demo-job.sub", jobs=jobs, sleep=3))
    (jobdir / "demo-job.sh").write_text(render("demo-job.sh"))
    os.chmod(jobdir / "demo-job.sh", 0o755)  # noqa: S103 - an executable, no secret
    for path in (jobdir, jobdir / "out", jobdir / "demo.sub", jobdir / "demo-job.sh"):
        os.chown(path, uid, gid)
    argv = annexes.tool(["condor_submit", "-terse", "demo.sub"], user=DEMO_USER, cwd=jobdir)
    proc = subprocess.run(argv, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise AnnexError(f"condor_submit failed: {proc.stderr.strip()}")
    cluster = int(proc.stdout.split(".")[0])
    console.print(f"Submitted {jobs} jobs (cluster {cluster}) as user {DEMO_USER}.")
    return cluster


def _wait(annexes: Annexes, cluster: int, jobs: int, console: Console) -> None:
    collector = annexes.pool.require_up().collector
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("running {task.fields[running]}"),
        TimeElapsedColumn(),
    )
    deadline = time.monotonic() + JOB_TIMEOUT
    with Progress(*columns, console=console) as progress:
        task = progress.add_task("jobs done", total=jobs, running=0)
        while True:
            queue = poolquery.schedd_jobs(
                collector, f"ClusterId == {cluster}", ["JobStatus", "HoldReason"]
            )
            running = sum(1 for ad in queue if ad.get("JobStatus") == 2)
            held = [ad for ad in queue if ad.get("JobStatus") == 5]
            if held:
                raise AnnexError(f"{len(held)} jobs were held: {held[0].get('HoldReason')}")
            progress.update(task, completed=jobs - len(queue), running=running)
            if not queue:
                return
            if time.monotonic() > deadline:
                raise AnnexError(f"{len(queue)} jobs were not done after {JOB_TIMEOUT}s")
            time.sleep(1)


def _verdict(annexes: Annexes, cluster: int, jobs: int, console: Console) -> int:
    collector = annexes.pool.require_up().collector
    record = annexes.store.load_annex(ANNEX)
    worker_ids = {w.id for w in record.workers}
    done = poolquery.job_history(
        collector, f"ClusterId == {cluster}", ["ProcId", "JobStatus", "ExitCode", "LastRemoteHost"]
    )
    good = 0
    for ad in done:
        host = str(ad.get("LastRemoteHost", ""))
        on_annex = any(f"@{wid}@" in host or host.startswith(f"{wid}@") for wid in worker_ids)
        if ad.get("JobStatus") == 4 and ad.get("ExitCode") == 0 and on_annex:
            good += 1
    hosts = sorted(
        {
            str(ad.get("LastRemoteHost", "")).split("@")[1]
            for ad in done
            if "@" in str(ad.get("LastRemoteHost", ""))
        }
    )
    console.print(
        f"{good} of {jobs} jobs finished successfully on annex workers {', '.join(hosts)}."
    )
    return 0 if good == jobs else 1
