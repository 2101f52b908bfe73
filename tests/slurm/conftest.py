"""Fixtures for tests that run a real Slurm (munged, slurmctld, slurmd) next to HTCondor.

One cluster serves the whole session: brought up once, taken down at the end, and then it
must have left no Slurm, munge or job process behind. Slurm must be installed
(scripts/bootstrap --test does it); without it these tests fail rather than skip, so a
green run always means real daemons ran real jobs.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.slurm.jobs import USER, new_jobdir

from condor_annex.providers.slurm.localcluster import LocalSlurm
from condor_annex.providers.slurm.rootprocs import describe
from condor_annex.runtime import get_runtime


@pytest.fixture(scope="session")
def slurm() -> Iterator[LocalSlurm]:
    cluster = LocalSlurm(get_runtime())
    cluster.up()
    try:
        yield cluster
    finally:
        cluster.down()
    left = cluster.leftovers()
    assert not left, f"left behind: {describe(left)}"
    assert not cluster.is_up()


@pytest.fixture(scope="session")
def slurm_user(slurm: LocalSlurm) -> tuple[int, int]:
    """(uid, gid) of the ordinary user who submits the jobs."""
    return slurm.add_user(USER)


@pytest.fixture
def jobdir(slurm_user: tuple[int, int]) -> Iterator[Path]:
    path = new_jobdir(slurm_user)
    yield path
    shutil.rmtree(path, ignore_errors=True)
