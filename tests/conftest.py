"""Test-run wide settings.

The suite runs in parallel (pytest-xdist, `scripts/test`). Tests that use or inspect
state only one of them can own at a time (the one local Slurm, the demo's directories in
/tmp, uids chosen as free) are marked `machine` and run in one xdist group, in turn. The
AWS tests run in one group too: test_policies judges the record of every AWS call the
others made, which one process (one moto server, one record) must hold.
"""

from __future__ import annotations

from pathlib import Path

import pytest


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "machine: owns machine-wide state; run one at a time")


@pytest.hookimpl(tryfirst=True)  # before xdist's own hook reads the groups
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    aws = Path(__file__).resolve().parent / "aws"
    for item in items:
        if item.get_closest_marker("slurm") or item.get_closest_marker("machine"):
            item.add_marker(pytest.mark.xdist_group(name="machine"))
        elif aws in item.path.parents:
            item.add_marker(pytest.mark.xdist_group(name="aws"))
