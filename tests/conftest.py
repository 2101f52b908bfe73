"""Test-run wide settings.

The suite runs in parallel (pytest-xdist, `scripts/test`). Tests that use or inspect
state only one of them can own at a time (the one local Slurm, the demo's directories in
/tmp, uids chosen as free) are marked `machine` and run in one xdist group, in turn.
"""

from __future__ import annotations

import pytest


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "machine: owns machine-wide state; run one at a time")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.get_closest_marker("slurm") or item.get_closest_marker("machine"):
            item.add_marker(pytest.mark.xdist_group(name="machine"))
