"""`annex demo --provider slurm`: the README demo through Slurm pilots. With no Slurm
running here, the demo brings the local one up, and takes it down again afterwards."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.commands import run_command

from condor_annex.providers.slurm.localcluster import LocalSlurm
from condor_annex.providers.slurm.rootprocs import describe

pytestmark = [pytest.mark.condor, pytest.mark.slurm]


def test_demo_through_slurm_brings_slurm_up_and_down(slurm: LocalSlurm) -> None:
    slurm.down()  # the session's cluster; brought back below
    try:
        proc = run_command("annex", "demo", "--provider", "slurm", "--jobs", "4", timeout=600)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert "Started a local Slurm for this run" in proc.stdout
        assert "4 of 4 jobs finished successfully on annex workers" in proc.stdout
        assert "Stopped the local Slurm again." in proc.stdout
        assert not slurm.is_up()
        assert not slurm.leftovers(), describe(slurm.leftovers())
        assert not list(Path("/tmp").glob("condor-annex-demo-*"))
    finally:
        slurm.up()
