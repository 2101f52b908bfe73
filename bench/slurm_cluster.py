"""The local Slurm's start and stop: `LocalSlurm.up()` and `down()` against the same three
daemons started and stopped by hand, side by side.

Why: the tests, the demo and every Slurm-provider test session start and stop this
cluster, so its own overhead (checks, config, waiting on conditions, the final scan for
leftover processes) should stay small next to what the daemons themselves take.

The baseline does what slurm-here.md's recipe does by hand, with the same configuration
files: start munged (as munge) and wait for its socket, start `slurmctld -i` and wait until
it listens (a client that finds it not listening retries a second later), start
`slurmd -N localhost`, poll `sinfo` until the node is idle; then SIGTERM the three pids
from their pid files and poll until they are gone. The measured side is `LocalSlurm.up()`
from nothing to an idle node, and `LocalSlurm.down()` (no jobs) until it returns. Rounds
alternate, and every round starts from a stopped cluster.

    .venv/bin/python bench/slurm_cluster.py [--repeat 5]

Needs root and Slurm installed (scripts/bootstrap --test). Takes a few seconds; leaves
Slurm stopped. Exit status: 0 when both ratios of medians are within the target, else 1.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import time

from condor_annex.providers.slurm import rootprocs
from condor_annex.providers.slurm.localcluster import (
    CTLD_PORT,
    DAEMONS,
    MUNGE_SOCKET,
    READY_STATES,
    LocalSlurm,
)
from condor_annex.waiting import wait_for

TARGET_RATIO = 2.0


def listening(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def by_hand_up(cluster: LocalSlurm) -> float:
    start = time.monotonic()
    for daemon in DAEMONS:
        subprocess.run(cluster.command(daemon.argv, daemon.user), check=True)
        if daemon.user == "munge":
            wait_for(cluster.path(MUNGE_SOCKET).exists, 10, "munge", 0.02)
        if daemon.name == "slurmctld":
            wait_for(lambda: listening(CTLD_PORT), 10, "slurmctld", 0.02)
    wait_for(lambda: cluster.node_state() in READY_STATES, 30, "idle node", 0.1)
    return time.monotonic() - start


def by_hand_down(cluster: LocalSlurm) -> float:
    start = time.monotonic()
    pids = [rootprocs.pid_from_file(cluster.path(d.pidfile), d.name, cluster.root) for d in DAEMONS]
    for pid in reversed(pids):
        if pid:
            os.kill(pid, 15)
    wait_for(lambda: not cluster.leftovers(), 30, "daemons to end", 0.05)
    return time.monotonic() - start


def timed(action) -> float:  # type: ignore[no-untyped-def]
    start = time.monotonic()
    action()
    return time.monotonic() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    cluster = LocalSlurm()
    print("load average at start: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()), flush=True)
    cluster.down()
    cluster.up()  # writes the configuration files the baseline uses too
    cluster.down()
    rows: dict[str, list[float]] = {"hand up": [], "up()": [], "hand down": [], "down()": []}
    try:
        for round_ in range(1, args.repeat + 1):
            rows["hand up"].append(by_hand_up(cluster))
            rows["hand down"].append(by_hand_down(cluster))
            rows["up()"].append(timed(cluster.up))
            rows["down()"].append(timed(cluster.down))
            print(f"round {round_}: " + "  ".join(f"{k} {v[-1]:.3f}s" for k, v in rows.items()))
    finally:
        cluster.down()
    med = {k: statistics.median(v) for k, v in rows.items()}
    up_ratio = med["up()"] / med["hand up"]
    down_ratio = med["down()"] / med["hand down"]
    print(f"\nmedian of {args.repeat}    by hand   LocalSlurm   ratio")
    print(f"cold start to idle   {med['hand up']:7.3f}s  {med['up()']:9.3f}s  {up_ratio:6.2f}")
    print(
        f"stop, nothing left   {med['hand down']:7.3f}s  {med['down()']:9.3f}s  {down_ratio:6.2f}"
    )
    ok = up_ratio <= TARGET_RATIO and down_ratio <= TARGET_RATIO
    print(f"target: both ratios <= {TARGET_RATIO}: {'within target' if ok else 'MISSED'}")
    print("load average at end:   {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
