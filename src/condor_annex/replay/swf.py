"""Reading a Standard Workload Format trace (Parallel Workloads Archive), plain or gzip.

One job a line, 18 whitespace-separated fields; lines starting with ';' are header
comments. Used here: 2 submit time (s), 4 run time (s), 8 requested processors (else 5,
allocated), 10 requested memory (KB per processor, -1 when unknown).
"""

from __future__ import annotations

import gzip
import math
import zlib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from condor_annex.errors import UsageError

FIELDS = 18
DEFAULT_MEMORY_PER_CPU_MB = 1024


@dataclass(frozen=True)
class TraceJob:
    id: int
    submit: float  # seconds after the trace's first submission
    runtime: float
    cpus: int
    memory_mb: int


@dataclass
class Trace:
    name: str
    jobs: list[TraceJob]
    skipped: Counter[str] = field(default_factory=Counter)  # reason -> lines
    memory_default_mb: int = DEFAULT_MEMORY_PER_CPU_MB
    memory_defaulted: int = 0  # jobs whose memory the trace did not give


def _number(text: str) -> float:
    value = float(text)
    if math.isnan(value) or math.isinf(value):
        raise ValueError(text)
    return value


def _lines(path: Path) -> list[str]:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise UsageError(f"no trace file {path}") from None
    except IsADirectoryError:
        raise UsageError(f"{path} is a directory, not a trace file") from None
    except OSError as err:
        raise UsageError(f"cannot read {path}: {err.strerror}") from None
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError, zlib.error):
            raise UsageError(f"{path} is not a readable gzip file") from None
    try:
        return raw.decode("utf-8").splitlines()
    except UnicodeDecodeError:
        raise UsageError(f"{path} is not a Standard Workload Format trace (not text)") from None


def read_swf(path: Path, memory_per_cpu_mb: int = DEFAULT_MEMORY_PER_CPU_MB) -> Trace:
    """Jobs with a known, positive run time, in submission order. Lines that are not jobs
    are counted by reason in `skipped`; a file with no job at all is a UsageError."""
    skipped: Counter[str] = Counter()
    rows: list[tuple[int, float, float, int, int]] = []
    defaulted = 0
    for line in _lines(path):
        text = line.strip()
        if not text or text.startswith(";"):
            continue
        parts = text.split()
        if len(parts) < FIELDS:
            skipped["malformed"] += 1
            continue
        try:
            job_id = int(_number(parts[0]))
            submit, runtime = _number(parts[1]), _number(parts[3])
            requested, allocated = int(_number(parts[7])), int(_number(parts[4]))
            memory_kb = _number(parts[9])
        except ValueError:
            skipped["malformed"] += 1
            continue
        if runtime <= 0:
            skipped["run time unknown or <= 0"] += 1
            continue
        cpus = requested if requested > 0 else allocated
        if cpus <= 0 or submit < 0:
            skipped["processors or submit time unknown"] += 1
            continue
        if memory_kb > 0:
            memory_mb = math.ceil(memory_kb * cpus / 1024)
        else:
            memory_mb = memory_per_cpu_mb * cpus
            defaulted += 1
        rows.append((job_id, submit, runtime, cpus, memory_mb))
    if not rows:
        found = ", ".join(f"{n} {why}" for why, n in skipped.items()) or "no job lines"
        raise UsageError(f"{path} holds no usable Standard Workload Format job ({found})")
    rows.sort(key=lambda row: (row[1], row[0]))
    first = rows[0][1]
    jobs = [TraceJob(i, s - first, r, c, m) for i, s, r, c, m in rows]
    return Trace(path.name, jobs, skipped, memory_per_cpu_mb, defaulted)
