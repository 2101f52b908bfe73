"""Start-up time of the command lines' help and usage errors, against `python -c pass`.

What a user waits for before `annex --help`, `annex create --help`, a usage error, or
`condor_annex -help` answers: each is run as a fresh process, rounds interleaved with the
baseline (the same interpreter doing nothing), median of --repeat. The target is the
issue's: `annex --help` in at most 0.25 s here.

    .venv/bin/python bench/help_startup.py [--repeat 15]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

BIN = Path(sys.executable).parent
TARGET_SECONDS = 0.25
CASES = {
    "python -c pass": [sys.executable, "-c", "pass"],
    "annex --help": [str(BIN / "annex"), "--help"],
    "annex create --help": [str(BIN / "annex"), "create", "--help"],
    "annex create (usage error)": [str(BIN / "annex"), "create", "x", "--count", "many"],
    "condor_annex -help": [str(BIN / "condor_annex"), "-help"],
}


def once(argv: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(argv, capture_output=True, check=False)
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    for argv in CASES.values():
        once(argv)  # warm the file cache
    times: dict[str, list[float]] = {name: [] for name in CASES}
    for _ in range(args.repeat):
        for name, argv in CASES.items():
            times[name].append(once(argv))
    base = statistics.median(times["python -c pass"])
    print(f"{'command':<28} {'median s':>9} {'ratio':>7}")
    for name, samples in times.items():
        median = statistics.median(samples)
        print(f"{name:<28} {median:9.3f} {median / base:7.1f}")
    help_time = statistics.median(times["annex --help"])
    verdict = "meets" if help_time <= TARGET_SECONDS else "misses"
    print(f"annex --help: {help_time:.3f} s, {verdict} the target of {TARGET_SECONDS} s")
    return 0 if help_time <= TARGET_SECONDS else 1


if __name__ == "__main__":
    sys.exit(main())
