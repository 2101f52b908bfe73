"""AWS status: how long the status path takes for an annex of 1000 instances, compared
per instance with an annex of 100, against moto.

Why: `annex status` (and renew and off, which refresh the record first) runs the
provider's status path: `query_instances` (one tag-filtered, paginated DescribeInstances),
then `annex_status` and `cost` on the result. Its cost in this process must grow
linearly with the annex, so the target is: per-instance time at 1000 / per-instance
time at 100 <= 2.0 for the client side (botocore parsing the replies plus the provider's
own code). Linear is 1.0; anything quadratic in this process would show as about 10.
moto's own time is shown but not judged: it is not AWS's (see below).

Each size gets its own region in one moto server (baseline in us-west-2, measured in
us-east-1; moto's cost per instance grows with everything its region holds), the account
set up there, and one on-demand annex launched by `AwsProvider.run_instances`. One
untimed status per size first (botocore loads its models, records move to RUNNING), then
rounds interleaved (100, 1000, 100, 1000, ...). Each round starts with a full (untimed)
garbage collection, then times `query_instances(record)` + `annex_status(record, [])` +
`cost(record)` on the same provider and clients, split with botocore's event hooks into:

- moto:     request sent until the reply is read (moto's server, same process, loopback);
- parse:    botocore parsing the XML replies;
- provider: the rest (the provider's own code, annex_status, cost, and botocore's
  request side).

moto renders each described instance's tags by scanning every tag in the region
(moto/ec2/models/tags.py `describe_tags`, called per instance), so its time grows with
the square of the annex; real EC2 answers from its own servers and that part does not
happen in this process at all.

`--experiment-gc-off` is an experiment, not how the tool runs: it turns Python's cyclic
garbage collector off during each timed status, to show how much of the client side's
growth per instance is the collector walking botocore's growing parse tree of the reply
(about 3.7 kB of XML per instance, one reply of up to 1000 instances per page).

    .venv/bin/python bench/aws_status.py [--repeat 5] [--small 100] [--large 1000]
        [--experiment-gc-off]

Exit status: 0 when the client side's per-instance ratio is within the target, 1 when
above it (or when a status did not see every instance).
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import sys
import time
from dataclasses import dataclass
from typing import Any

from condor_annex.model import AnnexRecord
from condor_annex.providers.aws import AwsProvider
from condor_annex.settle import settle
from condor_annex.status import annex_status
from motoaws import Calls, Moto, annex, bundle, versions

TARGET_RATIO = 2.0
INSTANCE_TYPE = "m5.large"
REGIONS = {"small": "us-west-2", "large": "us-east-1"}


@dataclass
class Timing:
    size: int
    round: int
    total: float
    moto: float
    parse: float
    pages: int

    @property
    def provider(self) -> float:
        return self.total - self.moto - self.parse

    @property
    def client(self) -> float:
        return self.parse + self.provider


class Annex:
    """One size: its region's account, provider, call counter and launched annex."""

    def __init__(self, moto: Moto, region: str, size: int, gc_off: bool) -> None:
        self.size = size
        self.gc_off = gc_off
        session, setup_record, image = moto.account(region)
        self.calls = Calls(session)  # before the provider makes its clients
        self.provider = AwsProvider(
            session, setup_record, INSTANCE_TYPE, image, iam_retry_delays=()
        )
        _, self.record = annex(f"bench-status-{size}", size, region)
        start = time.monotonic()
        seen = self.provider.run_instances(self.record, bundle(self.record), size)
        settle(self.record, seen, time.time(), self.provider.timing)
        print(f"  {size} instances launched in {region} ({time.monotonic() - start:.1f} s)")
        if len(self.record.workers) != size:
            raise RuntimeError(f"launched {len(self.record.workers)} instances, not {size}")

    def status(self, rnd: int) -> Timing:
        self.calls.clear()
        gc.collect()  # every round starts from the same heap
        if self.gc_off:
            gc.disable()
        try:
            start = time.perf_counter()
            shown = status_path(self.provider, self.record)
            total = time.perf_counter() - start
        finally:
            gc.enable()
        if shown.running != self.size:
            raise RuntimeError(f"status saw {shown.running} running, not {self.size}")
        pages = self.calls.calls["DescribeInstances"]
        return Timing(self.size, rnd, total, self.calls.wire, self.calls.parse, pages)


def status_path(provider: AwsProvider, record: AnnexRecord) -> Any:
    """What `annex status` does with the provider for one annex (no pool: no slots)."""
    settle(record, provider.query_instances(record), time.time(), provider.timing)
    return annex_status(record, [], cost=provider.cost(record))


def run(repeat: int, small: int, large: int, gc_off: bool) -> list[Timing]:
    timings: list[Timing] = []
    with Moto() as moto:
        annexes = [
            Annex(moto, REGIONS["small"], small, gc_off),
            Annex(moto, REGIONS["large"], large, gc_off),
        ]
        for one in annexes:
            warm = one.status(0)
            print(f"  warm-up N={one.size:<5} {warm.total:7.3f} s")
        for rnd in range(1, repeat + 1):
            for one in annexes:
                timing = one.status(rnd)
                timings.append(timing)
                print(f"  round {rnd}: N={one.size:<5} {timing.total:7.3f} s", flush=True)
    return timings


def report(timings: list[Timing], small: int, large: int) -> int:
    print()
    print(
        f"{'round':>5} {'N':>5} {'total s':>8} {'moto s':>8} {'parse s':>8} "
        f"{'provider s':>10} {'pages':>5}"
    )
    for t in timings:
        print(
            f"{t.round:>5} {t.size:>5} {t.total:>8.3f} {t.moto:>8.3f} {t.parse:>8.3f} "
            f"{t.provider:>10.3f} {t.pages:>5}"
        )
    parts = ["total", "moto", "parse", "provider", "client"]
    med = {
        (size, part): statistics.median(getattr(t, part) for t in timings if t.size == size)
        for size in (small, large)
        for part in parts
    }
    print()
    print(
        f"{'median':<28} {f'N={small} s':>9} {f'N={large} s':>9} "
        f"{f'ms/inst {small}':>12} {f'ms/inst {large}':>12} {'ratio':>6}"
    )
    labels = {
        "total": "total (with moto)",
        "moto": "  moto (server + loopback)",
        "parse": "  botocore parse",
        "provider": "  provider + rest",
        "client": "client side (parse+provider)",
    }
    ratios = {}
    for part in parts:
        a, b = med[(small, part)], med[(large, part)]
        per_a, per_b = a / small * 1000, b / large * 1000
        ratios[part] = per_b / per_a
        print(
            f"{labels[part]:<28} {a:>9.3f} {b:>9.3f} {per_a:>12.3f} {per_b:>12.3f} "
            f"{ratios[part]:>6.2f}"
        )
    ratio = ratios["client"]
    print()
    print(
        f"status of {large} instances: {med[(large, 'total')]:.2f} s against moto, "
        f"of which {med[(large, 'client')]:.2f} s client side"
    )
    print(
        f"per-instance ratio N={large} / N={small}, client side: {ratio:.2f}  "
        f"(target <= {TARGET_RATIO}); moto's own: {ratios['moto']:.2f} (not judged)"
    )
    if ratio > TARGET_RATIO:
        print(f"ABOVE TARGET: {ratio:.2f} > {TARGET_RATIO}")
        return 1
    print("within target")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=5, help="rounds (default 5)")
    parser.add_argument("--small", type=int, default=100, help="baseline size (default 100)")
    parser.add_argument("--large", type=int, default=1000, help="measured size (default 1000)")
    parser.add_argument(
        "--experiment-gc-off",
        action="store_true",
        help="experiment, not how the tool runs: Python's garbage collector is off during "
        "each timed status (shows how much of the growth per instance it causes)",
    )
    args = parser.parse_args()
    if args.experiment_gc_off:
        print("EXPERIMENT: garbage collector off during each timed status", flush=True)
    print(f"AWS status against moto: {args.repeat} rounds, {os.cpu_count()} CPUs, {versions()}")
    print("load average at start: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()), flush=True)
    try:
        timings = run(args.repeat, args.small, args.large, args.experiment_gc_off)
    except RuntimeError as err:
        print(f"FAILED: {err}")
        return 1
    status = report(timings, args.small, args.large)
    print("load average at end:   {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))
    return status


if __name__ == "__main__":
    sys.exit(main())
