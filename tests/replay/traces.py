"""Small synthetic Standard Workload Format traces for the replay tests."""

from __future__ import annotations

from pathlib import Path

HEADER = "; Version: 2.2\n; Computer: synthetic\n;\n"


def swf_line(
    job: int, submit: int, runtime: int, procs: int, requested: int = -1, memory_kb: int = -1
) -> str:
    fields = [job, submit, -1, runtime, procs, -1, -1, requested, -1, memory_kb] + [-1] * 8
    return " ".join(str(f) for f in fields)


def write_trace(path: Path, lines: list[str]) -> Path:
    path.write_text(HEADER + "\n".join(lines) + "\n")
    return path


def busy_trace(path: Path) -> Path:
    """Two hours of 1-, 2- and 4-CPU jobs, with gaps so that workers go idle and leave."""
    lines = []
    job = 1
    for minute in range(0, 120, 3):
        for procs in (1, 2, 4):
            lines.append(swf_line(job, minute * 60, 300 + 60 * (job % 4), procs))
            job += 1
    lines.append(swf_line(job, 9000, 600, 1))  # after a quiet hour
    return write_trace(path, lines)
