"""Observing demand: the controller's grouped query against the per-job query, side by side.

Why: the controller reads the idle jobs of every schedd at every interval. The GCP Cluster
Toolkit's autoscaler asks the schedd for every idle job (one ad each) and sums in Python;
ours (`observe.idle_demand`) has the schedd group them (`QueryOpt.GroupBy`) and gets one ad
per group, plus the jobs too new to count. The schedd still looks at every job; what grows
with the queue is what it sends back and what the client parses.

A real local pool (no workers: an elastic annex at zero), GROUPS kinds of idle jobs from two
users, first SMALL jobs, then LARGE in the same groups. At each size, rounds interleave the
two ways (median of --rounds). Both must count the same jobs.

    .venv/bin/python bench/observe_cost.py [--rounds 5] [--small 1000] [--large 20000]

Target: at LARGE jobs, ours takes at most half the per-job way's time. Exit 0 when met.
"""

from __future__ import annotations

import argparse
import math
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import htcondor2

from condor_annex import Annexes, observe
from condor_annex.waiting import wait_for

BASE = Path("/tmp/condor-annex-bench")
USERS = ("benchalice", "benchbob")
# (cpus, memory MB): GROUPS = len(SHAPES) x len(USERS)
SHAPES = [(1, 512), (1, 2048), (2, 1536), (2, 4096), (4, 8192), (8, 16384), (16, 65536)]
PER_JOB_ATTRS = ["Owner", "RequestCpus", "RequestMemory", "RequestDisk", "RequestGPUs"]


def submit(api: Annexes, workdir: Path, total: int) -> None:
    """`total` idle jobs spread evenly over the groups (they never run: no workers)."""
    per = math.ceil(total / (len(SHAPES) * len(USERS)))
    for user in USERS:
        uid, gid = api.runtime.ensure_user(user)
        jobs = workdir / user
        jobs.mkdir(exist_ok=True)
        os.chown(jobs, uid, gid)
        for n, (cpus, memory) in enumerate(SHAPES):
            sub = jobs / f"g{n}.sub"
            sub.write_text(
                f"executable = /bin/true\nrequest_cpus = {cpus}\nrequest_memory = {memory}\n"
                f"request_disk = 1024\nshould_transfer_files = YES\nqueue {per}\n"
            )
            os.chown(sub, uid, gid)
            argv = api.tool(["condor_submit", "-terse", sub.name], user=user, cwd=jobs)
            subprocess.run(argv, check=True, capture_output=True)


def per_job(collector: str, cutoff: float) -> Counter[tuple[str, ...]]:
    """The toolkit's way: every idle job's ad, grouped in Python."""
    counts: Counter[tuple[str, ...]] = Counter()
    for location in htcondor2.Collector(collector).locateAll(htcondor2.DaemonType.Schedd):
        ads = htcondor2.Schedd(location).query(
            constraint=f"JobStatus == 1 && QDate < {math.floor(cutoff)}", projection=PER_JOB_ATTRS
        )
        for ad in ads:
            counts[tuple(str(ad.get(a)) for a in PER_JOB_ATTRS)] += 1
    return counts


def queued_jobs(collector: str) -> int:
    return sum(g.jobs for g in observe.idle_demand(collector, time.time() + 1, time.time()))


def timed(action) -> float:  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def measure(collector: str, rounds: int) -> tuple[float, float, int, int]:
    cutoff = time.time() + 1  # every queued job counts (the negotiator has seen them all)
    ours, theirs = [], []
    for _ in range(rounds):
        ours.append(timed(lambda: observe.idle_demand(collector, cutoff, time.time())))
        theirs.append(timed(lambda: per_job(collector, cutoff)))
    groups = observe.idle_demand(collector, cutoff, time.time())
    counted = sum(g.jobs for g in groups)
    assert counted == sum(per_job(collector, cutoff).values()), "the two ways disagree"
    return statistics.median(ours), statistics.median(theirs), counted, len(groups)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--small", type=int, default=1000)
    parser.add_argument("--large", type=int, default=20000)
    args = parser.parse_args()
    BASE.mkdir(mode=0o755, exist_ok=True)
    workdir = Path(tempfile.mkdtemp(dir=BASE))
    os.chmod(workdir, 0o755)  # noqa: S103 - HTCondor's daemons traverse it
    api = Annexes(home=workdir / "home")
    print(f"load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    rows = []
    try:
        collector = api.pool_up().collector
        api.pool.connect()
        queued = 0
        for size in (args.small, args.large):
            started = time.monotonic()
            submit(api, workdir, size - queued)
            queued = size
            wait_for(lambda n=size: queued_jobs(collector) >= n, 300, "the jobs to be queued", 1.0)
            print(f"queued {size} jobs in {time.monotonic() - started:.1f} s")
            rows.append((size, *measure(collector, args.rounds)))
    finally:
        api.pool_down()
        shutil.rmtree(workdir, ignore_errors=True)

    print(f"\nmedian of {args.rounds} rounds, seconds per look at the whole queue")
    print(f"{'idle jobs':>10} {'groups':>7} {'grouped':>10} {'per job':>10} {'ratio':>7}")
    for _size, ours, theirs, counted, groups in rows:
        print(f"{counted:>10} {groups:>7} {ours:>10.4f} {theirs:>10.4f} {ours / theirs:>7.3f}")
    (small, ours_s, theirs_s, *_), (large, ours_l, theirs_l, *_) = rows
    growth = f"grouped x{ours_l / ours_s:.2f}, per job x{theirs_l / theirs_s:.2f}"
    print(f"\ngrowth from {small} to {large} jobs: {growth}")
    met = ours_l <= 0.5 * theirs_l
    verdict = "met   " if met else "MISSED"
    print(f"{verdict} at {large} jobs, grouped / per job <= 0.5: {ours_l / theirs_l:.3f}")
    print(f"load average at end:   {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
