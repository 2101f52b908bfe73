"""Time to capacity through Slurm: how long `Annexes.create(..., "slurm")` with 4 pilots
takes to put 4 slots in the pool, against ONE pilot started by hand, in the same run.

Both sides run on the local Slurm (real munged, slurmctld, slurmd in the runtime's root)
and join a private local pool. Timed from the first step (minting the token) until the
slots are in the collector, polled every 0.1 s:

- baseline: one pilot by hand: the annex's files written directly (the worker
  configuration rendered by `worker_config`, the token, the lease, the pilot script) and
  ONE `sbatch` of the pilot script, not through `Annexes.create`;
- annex: `Annexes.create(request(count=4), "slurm")`, one job array of 4.

Rounds are interleaved; each side is cancelled and gone before the next starts. The
target, as for the local provider: median(annex of 4) / median(one pilot) <= 1.5.

    .venv/bin/python bench/slurm_capacity.py [--repeat 5] [--count 4]
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from condor_annex import Annexes
from condor_annex.api import TOKEN_SLACK_SECONDS
from condor_annex.pool import ANNEX_DOMAIN, UID_DOMAIN
from condor_annex.providers.slurm.localcluster import running
from condor_annex.providers.slurm.provider import pilot_config
from condor_annex.secretfiles import write_secret
from condor_annex.templates import read
from condor_annex.waiting import wait_for
from condor_annex.workerconfig import WorkerBundle, lease_config
from time_to_capacity import BASE, SlotWatch, Timing, measured, report

LEASE_SECONDS = 900
IDLE_SECONDS = 900


def slurm_command(argv: list[str]) -> list[str]:
    from condor_annex.providers.slurm.localcluster import LocalSlurm

    return LocalSlurm().command(argv)


def one_pilot_by_hand(annexes: Annexes, name: str, rnd: int, folder: Path) -> tuple[Timing, str]:
    collector = annexes.pool.require_up().collector
    start = time.monotonic()
    bundle = WorkerBundle(
        annex_name=name,
        collector=collector,
        uid_domain=UID_DOMAIN,
        annex_domain=ANNEX_DOMAIN,
        lease_end=time.time() + LEASE_SECONDS,
        idle_seconds=IDLE_SECONDS,
        cpus=1,
        memory_mb=1024,
        token=annexes.pool.worker_token(name, LEASE_SECONDS + TOKEN_SLACK_SECONDS),
    )
    (folder / "pilots").mkdir(parents=True)
    for path in (folder, folder / "pilots"):
        os.chmod(path, 0o755)  # noqa: S103 - the pilot's daemons traverse it as condor
    (folder / "worker.config").write_text(pilot_config(bundle))
    write_secret(folder / "token", bundle.token)
    (folder / "lease.config").write_text(lease_config(bundle.lease_end))
    script = folder / "pilot.sh"
    script.write_text(read("pilot.sh", "condor_annex.providers.slurm"))
    script.chmod(0o700)
    sbatch = [
        "sbatch", "--parsable", "--array=1-1", "--time=20", f"--chdir={folder}",
        f"--output={folder}/pilots/%A_%a.out",
        f"--export=ALL,ANNEX_DIR={folder},ANNEX_NETWORK=loopback", str(script),
    ]  # fmt: skip
    job = subprocess.run(slurm_command(sbatch), capture_output=True, text=True, check=True)
    launched = time.monotonic() - start
    first, total = SlotWatch(collector, name, 1, start).wait()
    return Timing("one worker", rnd, name, launched, first, total), job.stdout.strip()


def annex_of(annexes: Annexes, name: str, count: int, rnd: int) -> Timing:
    collector = annexes.pool.require_up().collector
    start = time.monotonic()
    annexes.create(annexes.request(name, count, LEASE_SECONDS, IDLE_SECONDS), "slurm")
    launched = time.monotonic() - start
    first, total = SlotWatch(collector, name, count, start).wait()
    return Timing(f"annex of {count}", rnd, name, launched, first, total)


def cancel_and_wait(array: str) -> None:
    subprocess.run(slurm_command(["scancel", array]), check=True)

    def ended() -> bool:
        argv = slurm_command(["squeue", "-h", "-r", "-t", "all", "-j", array, "-o", "%T"])
        states = subprocess.run(argv, capture_output=True, text=True, check=False).stdout.split()
        return not set(states) & {"PENDING", "RUNNING", "COMPLETING", "CONFIGURING"}

    wait_for(ended, 120, f"pilot array {array} to end", 0.5)


def run(repeat: int, count: int) -> int:
    BASE.mkdir(mode=0o755, exist_ok=True)
    os.chmod(BASE, 0o755)  # noqa: S103
    workdir = Path(tempfile.mkdtemp(dir=BASE))
    os.chmod(workdir, 0o755)  # noqa: S103
    annexes = Annexes(home=workdir / "home")
    timings: list[Timing] = []
    try:
        with running(print):
            annexes.pool_up()
            run_id = secrets.token_hex(2)
            for rnd in range(1, repeat + 1):
                folder = workdir / f"by-hand-{rnd}"
                timing, array = one_pilot_by_hand(annexes, f"bench-one-{run_id}-{rnd}", rnd, folder)
                timings.append(timing)
                print(f"  round {rnd}: one pilot     {timing.total:6.2f} s", flush=True)
                cancel_and_wait(array)

                name = f"bench-annex-{run_id}-{rnd}"
                timing = annex_of(annexes, name, count, rnd)
                timings.append(timing)
                print(f"  round {rnd}: annex of {count}   {timing.total:6.2f} s", flush=True)
                annexes.off(name)
            annexes.pool_down()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return report(timings, count)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--count", type=int, default=4)
    args = parser.parse_args()
    return measured("Slurm time to capacity", lambda: run(args.repeat, args.count), args.repeat)


if __name__ == "__main__":
    sys.exit(main())
