"""`annex autoscale` with bad input: one line saying what to fix, exit code 2, and nothing
created (no pool is needed: every check runs before the pool is asked)."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.commands import run_command

from condor_annex.errors import UsageError
from condor_annex.providers.local.catalogue import parse_shapes


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--shapes", "2xlots"], "is not CPUSxMEMORY[@USD]"),
        (["--shapes", "0x512M"], "at least 1 CPU"),
        (["--shapes", "1x512M,1x0.5G"], "names a shape twice"),
        (["--interval", "10m", "--idle", "5m"], "--interval (600s) is longer than --idle"),
        (["--min-life", "2h", "--duration", "1h"], "--min-life (7200s) is longer than the lease"),
        (["--max-workers", "5000"], "above the maximum of"),
        (["--budget", "0"], "--budget"),
        (["--owner", "bad name"], "owner"),
        (["--pool-address", "bad host:x"], "pool address"),
        (["--provider", "nosuch"], "--provider"),
    ],
)
def test_bad_input_is_one_line_exit_2_and_creates_nothing(
    args: list[str], says: str, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    proc = run_command(
        "annex", "autoscale", "el", *args, "--yes", env={"CONDOR_ANNEX_HOME": str(home)}
    )
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert says.lower() in proc.stderr.lower()
    assert not (home / "annexes" / "el.json").exists()


def test_shapes_parse_with_prices() -> None:
    shapes = parse_shapes("1x512M,2x1.5G@0.02, 4x4096@1")
    assert [(s.name, s.cpus, s.memory_mb, s.price_per_hour) for s in shapes] == [
        ("1x512M", 1, 512, 0.0),
        ("2x1536M", 2, 1536, 0.02),
        ("4x4096M", 4, 4096, 1.0),
    ]
    with pytest.raises(UsageError):
        parse_shapes("")
