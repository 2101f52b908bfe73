"""A state home deleted and made again (as any temporary directory is) must not leave the
runtime showing the deleted one; and a failing HTCondor tool says why, in its own words."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from condor_annex import Annexes
from condor_annex.errors import AnnexError
from condor_annex.runtime import get_runtime, mounts
from condor_annex.runtime.chroot import ChrootRuntime
from condor_annex.tokens import create_token


@pytest.fixture
def outside_tmp() -> Iterator[Path]:
    """A scratch directory outside /tmp: the runtime shares all of /tmp at once, so only a
    directory elsewhere gets a share of its own, the kind that can go stale."""
    base = Path(tempfile.mkdtemp(prefix="condor-annex-stale-", dir="/var/tmp"))
    os.chmod(base, 0o755)  # noqa: S103 - HTCondor's daemons traverse it
    yield base
    runtime = get_runtime()
    if isinstance(runtime, ChrootRuntime):
        inside = runtime.root / base.relative_to("/")
        mounts.unmount_all_below(inside)
        for empty in (inside / "home", inside):
            with contextlib.suppress(OSError):
                empty.rmdir()
    shutil.rmtree(base, ignore_errors=True)


def test_pool_comes_up_in_a_state_home_deleted_and_made_again(outside_tmp: Path) -> None:
    home = outside_tmp / "home"
    first = Annexes(home=home)
    first.pool_up()
    first.pool_down()
    shutil.rmtree(home)
    home.mkdir()

    again = Annexes(home=home)
    again.pool_up()
    try:
        assert again.pool.is_up()
        runtime = again.runtime
        if isinstance(runtime, ChrootRuntime):  # the share shows the new directory
            assert mounts.same_directory(home, runtime.root / home.relative_to("/"))
    finally:
        again.pool_down()


def test_a_failing_tool_says_why_in_its_own_words() -> None:
    missing = Path("/nonexistent/condor_config")
    with pytest.raises(AnnexError) as failed:
        create_token(get_runtime(), missing, "someone@example", "POOL")
    message = str(failed.value)
    assert message.startswith("condor_token_create for someone@example failed (exit 1): ")
    assert message.endswith(f'"{missing}" does not exist.')
    assert "\n" not in message
