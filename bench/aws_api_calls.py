"""AWS API calls: how many calls the AWS provider makes for an annex of 1000 instances,
compared with an annex of 10, on-demand and spot, counted against moto.

Why: AWS throttles API calls per account, and a tool that made one call per instance
would be slow and throttled at the sizes annexes are for. Creating an annex must take
a constant number of calls (one RunInstances, or one instant CreateFleet for spot), so
the target is: calls to create an annex of 1000 == calls for an annex of 10 (ratio 1.00).
The other phases are counted too, so a reader sees which ones grow with the annex and by
how much: status pages through DescribeInstances (1000 instances a page), renew and
terminate write in batches of 1000 ids.

For each mode (on-demand, spot) and size (baseline 10, then 1000) the moto state is
reset and the account set up afresh (CloudFormation stack, bucket policy lifted as in
tests/aws), then one AwsProvider goes through the phases of an annex's life, each
counted on its own with botocore's event hooks on the provider's real clients:

- prepare:   `prepare(request)` (the checks `annex create` runs before confirming);
- create:    `run_instances(record, bundle, N)`;
- status:    `query_instances(record)`, `annex_status(record, [])` and `cost(record)`;
- renew:     `set_lease(record, bundle)` with the lease an hour longer;
- terminate: `terminate_instances(record)` (the whole annex, as `annex off` ends it).

An API call is one client call (one per page of a paginator); HTTP requests are shown
too when botocore retried. Operations marked [HTTP nnn] got error replies (expected ones,
such as GetRole's 404 for a role not made yet, and calls moto does not implement).
moto pages DescribeInstances by reservation and AWS by instance: on-demand annexes are
one reservation, so moto never pages them; a spot fleet in moto is one reservation per
instance, so its pages match AWS's (at least ceil(N/1000) pages there).

    .venv/bin/python bench/aws_api_calls.py [--small 10] [--large 1000]
        [--mode on-demand|spot (default: both)]

Exit status: 0 when creating the large annex takes no more calls than the small one,
1 otherwise (or when a phase did not do what it should).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from condor_annex.lifecycle import GoneReason, WorkerState
from condor_annex.providers.aws import AwsProvider
from condor_annex.settle import mark_ended, settle
from condor_annex.status import annex_status
from motoaws import Calls, Moto, annex, bundle, versions

REGION = "us-east-1"
INSTANCE_TYPE = "m5.large"
SPOT_TYPES = ["m5.large", "m6i.large", "c5.large"]
MODES = {"on-demand": False, "spot": True}
PHASES = ["prepare", "create", "status", "renew", "terminate"]
CREATE = ("prepare", "create")  # what `annex create` does through the provider


@dataclass
class Phase:
    mode: str
    size: int
    name: str
    seconds: float
    calls: Counter[str]
    attempts: Counter[str]
    errors: dict[str, Counter[int]]
    warnings: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(self.calls.values())

    @property
    def requests(self) -> int:
        return sum(self.attempts.values())


class Failed(Exception):
    """A phase did not do what it should (the counts would mean nothing)."""


def run_case(moto: Moto, mode: str, size: int) -> list[Phase]:
    moto.reset()
    session, setup_record, image = moto.account(REGION)
    calls = Calls(session)  # before the provider makes its clients
    spot = MODES[mode]
    provider = AwsProvider(
        session,
        setup_record,
        INSTANCE_TYPE,
        image,
        spot=spot,
        instance_types=SPOT_TYPES if spot else None,
        iam_retry_delays=(),
    )
    request, record = annex(f"bench-{mode}-{size}", size, REGION)
    phases: list[Phase] = []

    def phase(name: str, action: Callable[[], None]) -> None:
        calls.clear()
        warned = len(provider.warnings)
        start = time.monotonic()
        action()
        seconds = time.monotonic() - start
        phases.append(
            Phase(
                mode,
                size,
                name,
                seconds,
                Counter(calls.calls),
                Counter(calls.attempts),
                {op: Counter(c) for op, c in calls.errors.items()},
                provider.warnings[warned:],
            )
        )
        print(f"  {mode:<9} N={size:<5} {name:<9} {phases[-1].total:3} calls {seconds:6.2f} s")

    def create() -> None:
        seen = provider.run_instances(record, bundle(record), size)
        settle(record, seen, time.time(), provider.timing)
        if len(record.workers) != size:
            raise Failed(f"create: {len(record.workers)} instances, not {size}")

    def status() -> None:
        settle(record, provider.query_instances(record), time.time(), provider.timing)
        shown = annex_status(record, [], cost=provider.cost(record))
        if shown.running != size:
            raise Failed(f"status: {shown.running} running, not {size}")

    def renew() -> None:
        record.lease_end += 3600
        provider.set_lease(record, bundle(record))

    def terminate() -> None:
        provider.terminate_instances(record)
        mark_ended(record, None, GoneReason.OFF)  # as the core's `off` does
        if any(w.state != WorkerState.GONE for w in record.workers):
            raise Failed("terminate: some workers are not gone")

    phase("prepare", lambda: provider.prepare(request))
    phase("create", create)
    phase("status", status)
    phase("renew", renew)
    phase("terminate", terminate)
    return phases


def op_label(op: str, small: Phase, large: Phase) -> str:
    statuses = sorted(set(small.errors.get(op, {})) | set(large.errors.get(op, {})))
    return f"{op} [HTTP {'/'.join(map(str, statuses))}]" if statuses else op


def growth(small: int, large: int) -> str:
    return "constant" if small == large else f"{large - small:+d}"


def report(results: list[Phase], small: int, large: int) -> int:
    by = {(p.mode, p.size, p.name): p for p in results}
    modes = [m for m in MODES if (m, small, "create") in by]
    head = f"{'phase':<10} {'operation':<40} {f'N={small}':>6} {f'N={large}':>6}  ratio"
    print()
    print(f"API calls by phase and operation, annex of {small} vs {large} ({versions()})")
    status = 0
    summary = []
    for mode in modes:
        print()
        print(f"{mode} ({'one instant CreateFleet' if MODES[mode] else 'one RunInstances'})")
        print(head)
        for name in PHASES:
            s, g = by[(mode, small, name)], by[(mode, large, name)]
            ops = list(dict.fromkeys([*s.calls, *g.calls]))
            for i, op in enumerate(ops):
                label = name if i == 0 else ""
                print(f"{label:<10} {op_label(op, s, g):<40} {s.calls[op]:>6} {g.calls[op]:>6}")
            ratio = g.total / s.total if s.total else float("nan")
            print(
                f"{'':<10} {'total':<40} {s.total:>6} {g.total:>6}  {ratio:4.2f}  "
                f"{growth(s.total, g.total)}  ({s.seconds:.2f} s / {g.seconds:.2f} s with moto)"
            )
            if (s.requests, g.requests) != (s.total, g.total):
                retried = "HTTP requests (with retries)"
                print(f"{'':<10} {retried:<40} {s.requests:>6} {g.requests:>6}")
            for warning in dict.fromkeys(s.warnings + g.warnings):
                print(f"{'':<10} provider warning: {warning.splitlines()[0][:110]}")
        made_small = sum(by[(mode, small, n)].total for n in CREATE)
        made_large = sum(by[(mode, large, n)].total for n in CREATE)
        summary.append((mode, made_small, made_large))
        if made_large > made_small:
            status = 1
    print()
    print(f"create (prepare + run_instances), total API calls, N={small} -> N={large}:")
    for mode, made_small, made_large in summary:
        ratio = made_large / made_small
        print(f"  {mode:<9} {made_small:3} -> {made_large:3}  ratio {ratio:.2f}")
    grown = [
        f"{mode} {name} {op} {by[(mode, small, name)].calls[op]} -> {n}"
        for mode in modes
        for name in PHASES
        for op, n in by[(mode, large, name)].calls.items()
        if n != by[(mode, small, name)].calls[op]
    ]
    print("calls that grow with N: " + ("; ".join(grown) if grown else "none"))
    if status:
        print(f"ABOVE TARGET: creating {large} instances takes more calls than {small}")
    else:
        print("within target: creating an annex takes the same calls at any size")
    return status


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--small", type=int, default=10, help="baseline size (default 10)")
    parser.add_argument("--large", type=int, default=1000, help="measured size (default 1000)")
    parser.add_argument("--mode", choices=list(MODES), help="only this mode (default: both)")
    args = parser.parse_args()
    modes = [args.mode] if args.mode else list(MODES)
    print(f"AWS API calls against moto: {os.cpu_count()} CPUs, {versions()}", flush=True)
    print("load average at start: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()), flush=True)
    results: list[Phase] = []
    try:
        with Moto() as moto:
            for mode in modes:
                for size in (args.small, args.large):
                    results += run_case(moto, mode, size)
    except Failed as err:
        print(f"FAILED: {err}")
        return 1
    status = report(results, args.small, args.large)
    print("load average at end:   {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))
    return status


if __name__ == "__main__":
    sys.exit(main())
