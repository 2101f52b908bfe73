"""Planning cost: one `plan()` over 200 autoclusters and 200 worker types, with 100,000 idle
jobs against a baseline of 1,000 jobs in the same autoclusters, side by side.

Why: the controller plans every loop interval; a planner that walked jobs one by one would
slow down as queues grow. Ours packs counts arithmetically (how many jobs of an autocluster
fit on one worker of a type) and matches each (autocluster, type) pair once, so its cost
must depend on autoclusters and types, not on jobs.

Each round plans both sizes, interleaved, each with a fresh Matcher (a cold cache: every
two-way ClassAd match is evaluated, as in a controller's first cycle) and then again with
the warm Matcher (as in every later cycle). 50 running workers (some with free room) and 10
in flight are in the supply. No caps, so 100,000 jobs really are packed into new workers.

    .venv/bin/python bench/planning_cost.py [--rounds 5]

Targets: median(100,000 jobs) / median(1,000 jobs) <= 1.2 (cold), and each median under
1 s. The slowest single plan is printed too: on a shared 2-core machine it wanders.
Exit status 0 when both hold, 1 otherwise.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time

import classad2

from condor_annex.planning import (
    IdleAutocluster,
    Matcher,
    Policy,
    Resources,
    Worker,
    WorkerType,
    plan,
)
from condor_annex.workerconfig import start_expression

AUTOCLUSTERS = 200
TYPES = 200
SMALL, LARGE = 1_000, 100_000
NOW = 1_000_000.0
REQUIREMENTS = (
    '(TARGET.Arch == "X86_64") && (TARGET.OpSys == "LINUX") && (TARGET.Disk >= RequestDisk)'
    " && (TARGET.Memory >= RequestMemory) && (TARGET.Cpus >= RequestCpus)"
    " && (TARGET.GPUs >= RequestGPUs) && (TARGET.HasFileTransfer)"
)


def catalogue(rng: random.Random) -> list[WorkerType]:
    types = []
    for i in range(TYPES):
        cpus = rng.choice([1, 2, 4, 8, 16, 32, 48, 64, 96, 128])
        per_cpu = rng.choice([1024, 2048, 4096, 8192])
        gpus = rng.choice([0] * 9 + [1, 4])
        price = round(cpus * per_cpu / 1024 * 0.012 + gpus * 0.9 + rng.random() * 0.01, 4)
        types.append(WorkerType(f"type{i}", cpus, cpus * per_cpu, 200 * 1024, gpus, price))
    return types


def autocluster_ads(rng: random.Random) -> list[classad2.ClassAd]:
    ads = []
    for i in range(AUTOCLUSTERS):
        ad = classad2.ClassAd(
            {
                "AutoClusterId": i,
                "RequestCpus": rng.choice([1, 1, 1, 2, 4, 8, 16]),
                "RequestMemory": rng.choice([512, 1024, 2000, 4096, 16000]),
                "RequestDisk": rng.choice([1, 4, 20]) * 1024 * 1024,
                "RequestGPUs": rng.choice([0] * 12 + [1]),
                "Owner": rng.choice(["alice", "bob", "carol"]),
            }
        )
        ad["Requirements"] = classad2.ExprTree(REQUIREMENTS)
        ads.append(ad)
    return ads


def demand(ads: list[classad2.ClassAd], jobs: int) -> list[IdleAutocluster]:
    per, extra = divmod(jobs, len(ads))
    result = []
    for i, template in enumerate(ads):
        ad = classad2.ClassAd(dict(template.items()))  # each size its own ads, as each cycle
        ad["JobCount"] = per + (1 if i < extra else 0)
        result.append(IdleAutocluster.from_ad(ad, "bench-schedd"))
    return result


def supply(rng: random.Random, types: list[WorkerType]) -> list[Worker]:
    workers = []
    for i in range(50):
        t = rng.choice(types)
        free = Resources(rng.randint(0, t.cpus), rng.randint(0, t.memory_mb), t.disk_mb, 0)
        workers.append(Worker(f"w{i}", t, free, claimed=True, started_at=NOW - 3600))
    workers += [Worker.starting(f"f{i}", rng.choice(types), NOW - 30) for i in range(10)]
    return workers


def timed(*args: object, matcher: Matcher) -> tuple[float, int]:
    start = time.perf_counter()
    decided = plan(*args, matcher=matcher)  # type: ignore[arg-type]
    return time.perf_counter() - start, decided.new_workers


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    rng = random.Random(8)
    types = catalogue(rng)
    ads = autocluster_ads(rng)
    workers = supply(rng, types)
    policy = Policy(start=start_expression(("alice", "bob")), annex_name="bench")
    sizes = {SMALL: demand(ads, SMALL), LARGE: demand(ads, LARGE)}
    print("load average at start: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()), flush=True)
    print(
        f"{AUTOCLUSTERS} autoclusters, {TYPES} types, {len(workers)} workers; "
        f"{args.rounds} rounds, interleaved"
    )
    cold: dict[int, list[float]] = {SMALL: [], LARGE: []}
    warm: dict[int, list[float]] = {SMALL: [], LARGE: []}
    launched: dict[int, int] = {}
    evaluations: dict[int, int] = {}
    print(
        f"{'round':>5} {'jobs':>8} {'cold s':>8} {'warm s':>8} {'new workers':>12} {'matches':>8}"
    )
    for rnd in range(1, args.rounds + 1):
        for jobs, idle in sizes.items():
            matcher = Matcher(policy)
            seconds, launched[jobs] = timed(idle, workers, types, policy, NOW, 0.0, matcher=matcher)
            evaluations[jobs] = matcher.evaluations
            again, _ = timed(idle, workers, types, policy, NOW, 0.0, matcher=matcher)
            cold[jobs].append(seconds)
            warm[jobs].append(again)
            print(
                f"{rnd:>5} {jobs:>8} {seconds:>8.3f} {again:>8.3f} {launched[jobs]:>12} "
                f"{matcher.evaluations:>8}"
            )
    small, large = statistics.median(cold[SMALL]), statistics.median(cold[LARGE])
    warm_small, warm_large = statistics.median(warm[SMALL]), statistics.median(warm[LARGE])
    ratio = large / small
    print(f"median cold, {SMALL:>7} jobs: {small:.3f} s   warm: {warm_small:.3f} s")
    print(f"median cold, {LARGE:>7} jobs: {large:.3f} s   warm: {warm_large:.3f} s")
    print(
        f"ClassAd matches evaluated: {evaluations[SMALL]} and {evaluations[LARGE]} "
        f"(of {AUTOCLUSTERS * TYPES} pairs; the rest fail on size or the GPU rule first)"
    )
    print(
        f"ratio {LARGE} / {SMALL} jobs: {ratio:.2f} cold, {warm_large / warm_small:.2f} warm "
        "(target <= 1.2)"
    )
    print(
        f"slowest median: {max(small, large):.3f} s (target < 1 s); slowest single plan: "
        f"{max(cold[LARGE] + cold[SMALL]):.3f} s"
    )
    print("load average at end:   {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))
    ok = ratio <= 1.2 and max(small, large) < 1.0
    print("within target" if ok else "TARGET MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
