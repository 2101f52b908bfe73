"""Fixtures for tests that run real HTCondor daemons (collector, negotiator, schedd, startd).

Each test gets its own state home and its own pool on a free port, torn down afterwards.
The HTCondor runtime must be installed (scripts/bootstrap does it); without it these
tests fail rather than skip, so a green run always means the daemons really ran.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.commands import run_command
from tests.condor.users import host_user

from condor_annex import Annexes
from condor_annex.runtime import get_runtime
from condor_annex.runtime.users import Account

pytestmark = pytest.mark.condor

USER = "annexuser"
BASE = Path("/tmp/condor-annex-tests")


@pytest.fixture(scope="session", autouse=True)
def _runtime_ready() -> None:
    get_runtime()  # raises a UsageError that names the fix if the runtime is missing


@pytest.fixture
def workdir() -> Iterator[Path]:
    """A scratch directory HTCondor's daemons can traverse (pytest's tmp_path is 0700)."""
    BASE.mkdir(mode=0o755, exist_ok=True)
    path = Path(tempfile.mkdtemp(dir=BASE))
    os.chmod(path, 0o755)  # noqa: S103
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def home(workdir: Path) -> Path:
    return workdir / "home"


@pytest.fixture
def annexes(home: Path) -> Iterator[Annexes]:
    """A running local pool (real daemons) in a private home; stopped afterwards."""
    api = Annexes(home=home)
    api.pool_up()
    try:
        yield api
    finally:
        api.pool_down()


@pytest.fixture
def cli(home: Path):  # type: ignore[no-untyped-def]
    """Run the `annex` command as a user would, against this test's home."""

    def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        return run_command("annex", *args, env={"CONDOR_ANNEX_HOME": str(home), **(env or {})})

    return run


@pytest.fixture
def jobdir(workdir: Path, annexes: Annexes) -> Path:
    """A directory the ordinary user owns, for submit files and job output."""
    uid, gid = annexes.runtime.ensure_user(USER)
    path = workdir / "jobs"
    path.mkdir()
    os.chown(path, uid, gid)
    return path


@pytest.fixture
def person() -> Iterator[Account]:
    """An ordinary user of this machine, home in /home; request it before `annexes`, so
    that it outlives the pool (the account is removed once the pool is down)."""
    with host_user() as account:
        yield account
