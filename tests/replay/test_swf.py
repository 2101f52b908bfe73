"""The Standard Workload Format reader: plain and gzip, headers, bad lines, bad files."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest
from tests.replay.traces import HEADER, swf_line, write_trace

from condor_annex.errors import UsageError
from condor_annex.replay.swf import read_swf


def test_plain_trace_fields(tmp_path: Path) -> None:
    trace = read_swf(
        write_trace(
            tmp_path / "t.swf",
            [
                swf_line(1, 100, 50, 4),  # allocated 4, no request, no memory
                swf_line(2, 160, 30, 8, requested=2, memory_kb=512 * 1024),  # requested wins
            ],
        ),
        memory_per_cpu_mb=1000,
    )
    assert trace.name == "t.swf"
    first, second = trace.jobs
    assert (first.submit, first.runtime, first.cpus, first.memory_mb) == (0, 50, 4, 4000)
    assert (second.submit, second.runtime, second.cpus, second.memory_mb) == (60, 30, 2, 1024)
    assert trace.memory_defaulted == 1
    assert not trace.skipped


def test_gzip_and_skipped_lines_are_counted(tmp_path: Path) -> None:
    body = HEADER + "\n".join(
        [
            swf_line(1, 0, 10, 1),
            swf_line(2, 5, 0, 1),  # run time 0
            swf_line(3, 6, -1, 1),  # run time unknown
            "this is not a job",
            "1 2 3",  # too few fields
            swf_line(4, 7, 10, -1, requested=-1),  # no processors
            swf_line(5, 3, 20, 2),
        ]
    )
    path = tmp_path / "t.swf.gz"
    path.write_bytes(gzip.compress(body.encode()))
    trace = read_swf(path)
    assert [job.id for job in trace.jobs] == [1, 5]  # the trace's numbers, by submission
    assert [job.submit for job in trace.jobs] == [0, 3]
    assert trace.skipped == {
        "run time unknown or <= 0": 2,
        "malformed": 2,
        "processors or submit time unknown": 1,
    }


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "no trace file"),
        (b"\x00\xff\xfe binary", "not a Standard Workload Format trace"),
        (b"; only a header\n", "no usable Standard Workload Format job"),
        (b"<html>not a trace</html>\n", "no usable Standard Workload Format job (1 malformed)"),
        (b"\x1f\x8b\x08\x00broken", "not a readable gzip file"),
    ],
)
def test_bad_files_are_usage_errors(tmp_path: Path, content: bytes | None, message: str) -> None:
    path = tmp_path / "bad.swf"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(UsageError) as info:
        read_swf(path)
    assert message in str(info.value)
    assert "\n" not in str(info.value)
