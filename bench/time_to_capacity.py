"""Time to capacity: how long `Annexes.create` with 4 workers takes to put 4 slots in the
pool, compared with starting ONE plain worker by hand.

Why: an annex is only useful once its slots are in the collector (that is when jobs can
match). Starting N workers should cost little more than starting one, because the
workers boot in parallel; the target is median(annex of 4) / median(one worker) <= 1.5.

Both sides are timed from the first step (minting the worker token) until the slots are
visible in the pool's collector, polled every 0.1 s:

- baseline: one worker by hand, from the project's own pieces but not through
  `Annexes.create` - `LocalPool.worker_token`, a `WorkerBundle`, `LocalWorker.write_files`
  and `LocalWorker.start` (one `condor_master` with the local worker configuration),
  then wait until `poolquery.annex_slots` shows its 1 slot;
- annex: `Annexes.create(request(count=4))`, then wait until 4 slots with that AnnexName
  are in the collector.

Rounds are interleaved (baseline, annex, baseline, annex, ...), each with a fresh name,
and everything is turned off (and gone) before the next measurement starts. A private
CONDOR_ANNEX_HOME and pool are used, and the pool is always taken down at the end.

    .venv/bin/python bench/time_to_capacity.py [--repeat 5] [--count 4]
        [--experiment-no-python-plugins]

Exit status: 0 when the ratio is within the target, 1 when above it.
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from condor_annex import Annexes, poolquery, processes
from condor_annex.api import TOKEN_SLACK_SECONDS
from condor_annex.pool import ANNEX_DOMAIN, UID_DOMAIN
from condor_annex.providers.local import worker as worker_module
from condor_annex.providers.local.addresses import free_addresses
from condor_annex.providers.local.worker import LocalWorker, tag, used_addresses
from condor_annex.runtime import get_runtime
from condor_annex.waiting import wait_for
from condor_annex.workerconfig import WorkerBundle, worker_config

TARGET_RATIO = 1.5
POLL = 0.1  # seconds between collector queries while timing
JOIN_TIMEOUT = 120.0  # bound on any one wait for slots
LEASE_SECONDS = 900  # long enough that neither lease nor idle time plays a part
IDLE_SECONDS = 900
BASE = Path("/tmp/condor-annex-bench")


@dataclass
class Timing:
    """One measurement, in seconds from the start: `launched` when the call(s) returned,
    `first` when the first slot showed, `total` when all of them had."""

    kind: str
    round: int
    name: str
    launched: float
    first: float
    total: float


class SlotWatch:
    """A wait_for condition that also notes when the first slot appeared."""

    def __init__(self, collector: str, name: str, count: int, start: float) -> None:
        self.collector = collector
        self.name = name
        self.count = count
        self.start = start
        self.first: float | None = None

    def __call__(self) -> bool:
        seen = len(poolquery.annex_slots(self.collector, self.name))
        now = time.monotonic() - self.start
        if seen and self.first is None:
            self.first = now
        return seen >= self.count

    def wait(self) -> tuple[float, float]:
        """(first slot, all slots) in seconds from the start."""
        wait_for(self, JOIN_TIMEOUT, f"{self.count} slots of {self.name}", POLL)
        total = time.monotonic() - self.start
        return (self.first if self.first is not None else total), total


def one_worker_by_hand(annexes: Annexes, name: str, rnd: int, started: list[LocalWorker]) -> Timing:
    """Start one worker without Annexes.create and time it until its slot is in the pool.

    The worker is appended to `started` as soon as it runs, so the caller can stop it.
    """
    pool = annexes.pool
    collector = pool.require_up().collector
    store = annexes.store
    start = time.monotonic()
    lease_end = time.time() + LEASE_SECONDS
    bundle = WorkerBundle(
        annex_name=name,
        collector=collector,
        uid_domain=UID_DOMAIN,
        annex_domain=ANNEX_DOMAIN,
        lease_end=lease_end,
        idle_seconds=IDLE_SECONDS,
        cpus=1,
        memory_mb=1024,
        token=pool.worker_token(name, LEASE_SECONDS + TOKEN_SLACK_SECONDS),
    )
    runtime = get_runtime()
    runtime.share(store.home)
    used = used_addresses(store.workers_dir)
    worker = LocalWorker(
        store.workers_dir, f"byhand-{secrets.token_hex(4)}", next(free_addresses(used))
    )
    worker.reserve()
    worker.write_files(runtime, bundle)
    worker.start(runtime)
    started.append(worker)
    launched = time.monotonic() - start
    try:
        first, total = SlotWatch(collector, name, 1, start).wait()
    except TimeoutError:
        show_logs([worker.dir])
        raise
    return Timing("one worker", rnd, name, launched, first, total)


def show_logs(dirs: list[Path]) -> None:
    """On a failed wait: the end of each worker's logs, to see why it did not join."""
    for directory in dirs:
        for log in (
            directory / "master.out",
            directory / "log/MasterLog",
            directory / "log/StartLog",
        ):
            if log.is_file():
                print(f"--- {log} (last lines)", file=sys.stderr)
                print(
                    "\n".join(log.read_text(errors="replace").splitlines()[-25:]), file=sys.stderr
                )


def stop_by_hand(worker: LocalWorker) -> None:
    """Graceful stop (SIGTERM: the daemons withdraw their ads), then remove the directory."""
    processes.stop_tree(worker.pid, worker.pid_started, tag(worker.id), grace=20)
    shutil.rmtree(worker.dir, ignore_errors=True)


def annex_of(annexes: Annexes, name: str, count: int, rnd: int) -> Timing:
    collector = annexes.pool.require_up().collector
    request = annexes.request(
        name, count=count, lease_seconds=LEASE_SECONDS, idle_seconds=IDLE_SECONDS
    )
    start = time.monotonic()
    record = annexes.create(request)
    launched = time.monotonic() - start
    try:
        first, total = SlotWatch(collector, name, count, start).wait()
    except TimeoutError:
        show_logs([annexes.store.workers_dir / w.id for w in record.workers])
        raise
    return Timing(f"annex of {count}", rnd, name, launched, first, total)


def wait_no_workers(ids: list[str]) -> None:
    """Nothing of the previous measurement may still run (on 2 cores it would compete)."""
    wait_for(
        lambda: not any(processes.tagged(tag(i)) for i in ids), 60, "worker processes to end", 0.5
    )


def run(repeat: int, count: int) -> int:
    BASE.mkdir(mode=0o755, exist_ok=True)
    os.chmod(BASE, 0o755)  # noqa: S103 - HTCondor's daemons (user condor) must traverse it
    workdir = Path(tempfile.mkdtemp(dir=BASE))
    os.chmod(workdir, 0o755)  # noqa: S103
    annexes = Annexes(home=workdir / "home")
    timings: list[Timing] = []
    by_hand: list[LocalWorker] = []
    try:
        print(f"pool up (state in {annexes.store.home}) ...", flush=True)
        annexes.pool_up()
        run_id = secrets.token_hex(2)
        for rnd in range(1, repeat + 1):
            base_name = f"bench-one-{run_id}-{rnd}"
            timing = one_worker_by_hand(annexes, base_name, rnd, by_hand)
            timings.append(timing)
            print(f"  round {rnd}: one worker     {timing.total:6.2f} s", flush=True)
            worker = by_hand.pop()
            stop_by_hand(worker)
            wait_no_workers([worker.id])

            annex_name = f"bench-annex-{run_id}-{rnd}"
            timing = annex_of(annexes, annex_name, count, rnd)
            timings.append(timing)
            print(f"  round {rnd}: annex of {count}     {timing.total:6.2f} s", flush=True)
            annexes.off(annex_name)
            wait_no_workers([w.id for w in annexes.store.load_annex(annex_name).workers])
    finally:
        for worker in by_hand:  # only after a failure: pool_down knows no by-hand worker
            stop_by_hand(worker)
        annexes.pool_down()
        shutil.rmtree(workdir, ignore_errors=True)
    return report(timings, count)


def report(timings: list[Timing], count: int) -> int:
    one = [t for t in timings if t.kind == "one worker"]
    many = [t for t in timings if t.kind != "one worker"]
    print()
    print(f"{'round':>5}  {'what':<12} {'launched s':>10} {'1st slot s':>10} {'all slots s':>11}")
    for t in timings:
        print(f"{t.round:>5}  {t.kind:<12} {t.launched:>10.2f} {t.first:>10.2f} {t.total:>11.2f}")
    med_one = statistics.median(t.total for t in one)
    med_many = statistics.median(t.total for t in many)
    ratio = med_many / med_one
    print()
    print(f"median one worker (1 slot):     {med_one:6.2f} s")
    print(f"median annex of {count} ({count} slots):  {med_many:6.2f} s")
    print(f"ratio annex of {count} / one worker: {ratio:.2f}  (target <= {TARGET_RATIO})")
    if ratio > TARGET_RATIO:
        print(f"ABOVE TARGET: {ratio:.2f} > {TARGET_RATIO}")
        return 1
    print("within target")
    return 0


def trim_transfer_plugins() -> None:
    """Append a FILETRANSFER_PLUGINS line to every worker configuration (this process only).

    HTCondor's default list includes box, gdrive and onedrive plugins written in Python;
    a starting startd runs each with -classad, about 0.25 s of CPU apiece, which is what
    makes 4 workers compete on 2 cores. Patches the function LocalWorker renders with.
    """

    def trimmed(*args: Any, **kwargs: Any) -> str:
        plugins = "FILETRANSFER_PLUGINS = $(LIBEXEC)/curl_plugin, $(LIBEXEC)/data_plugin"
        return f"{worker_config(*args, **kwargs)}\n# bench experiment\n{plugins}\n"

    vars(worker_module)["worker_config"] = trimmed  # the name LocalWorker.write_files uses
    print("EXPERIMENT: workers run without the Python file-transfer plugins", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=5, help="rounds (default 5)")
    parser.add_argument("--count", type=int, default=4, help="annex size (default 4)")
    parser.add_argument(
        "--experiment-no-python-plugins",
        action="store_true",
        help="experiment, not the shipped configuration: workers list only the C file-transfer "
        "plugins (curl, data), so their startd does not start three Python plugins to ask "
        "for their capabilities",
    )
    args = parser.parse_args()
    if args.experiment_no_python_plugins:
        trim_transfer_plugins()
    return measured("time to capacity", lambda: run(args.repeat, args.count), args.repeat)


def measured(title: str, measure: Callable[[], int], rounds: int) -> int:
    """Run `measure` between lines that say the machine's load (timings depend on it)."""
    print(f"{title}: {rounds} rounds, {os.cpu_count()} CPUs", flush=True)
    print("load average at start: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()), flush=True)
    status = measure()
    print("load average at end:   {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))
    return status


if __name__ == "__main__":
    sys.exit(main())
