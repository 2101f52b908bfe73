"""Slurm partitions as `sinfo` lists them: names, the default, and each one's time limit."""

from __future__ import annotations

from dataclasses import dataclass

from condor_annex.errors import AnnexError, UsageError
from condor_annex.providers.slurm.tools import Tools

FORMAT = "%P|%l"


@dataclass(frozen=True)
class Partition:
    name: str
    default: bool
    max_seconds: float | None  # None: no limit


def slurm_seconds(text: str) -> float | None:
    """Slurm's time format ([days-]hours:minutes:seconds, minutes:seconds, minutes, or
    infinite/UNLIMITED) in seconds; None for no limit."""
    text = text.strip()
    if text.lower() in ("infinite", "unlimited", "n/a", ""):
        return None
    days, _, clock = text.rpartition("-")
    parts = [int(p) for p in clock.split(":")]
    if len(parts) == 1:  # minutes
        parts = [0, parts[0], 0]
    while len(parts) < 3:
        parts.insert(0, 0)
    hours, minutes, seconds = parts
    return (int(days or 0) * 24 + hours) * 3600 + minutes * 60 + seconds


def partitions(tools: Tools) -> list[Partition]:
    proc = tools.run(["sinfo", "-h", "-o", FORMAT])
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["no answer"])[-1]
        raise AnnexError(f"sinfo failed on {tools.where}: {last}")
    found = []
    for line in proc.stdout.splitlines():
        name, _, limit = line.strip().partition("|")
        if name:
            found.append(Partition(name.rstrip("*"), name.endswith("*"), slurm_seconds(limit)))
    return found


def choose(tools: Tools, wanted: str | None) -> Partition:
    """The named partition, or the cluster's default; a one-line error if there is none."""
    known = partitions(tools)
    for partition in known:
        if (wanted and partition.name == wanted) or (not wanted and partition.default):
            return partition
    names = ", ".join(p.name for p in known) or "none"
    if wanted:
        raise UsageError(
            f"Slurm on {tools.where} has no partition {wanted!r}; choose one of: {names}"
        )
    raise UsageError(f"Slurm on {tools.where} has no default partition; give --partition ({names})")
