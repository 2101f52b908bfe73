"""Secret files: written 0600 (parent 0700) and refused when others could read them."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from condor_annex.errors import UsageError
from condor_annex.secretfiles import check_secret_file, write_secret


def _mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def _refusal(path: Path, what: str = "secret file") -> str:
    with pytest.raises(UsageError) as info:
        check_secret_file(path, what)
    message = str(info.value)
    assert "\n" not in message
    return message


@pytest.fixture
def open_umask() -> Iterator[None]:
    """Run with umask 0, the worst case: only the code's own modes protect the secret."""
    old = os.umask(0)
    try:
        yield
    finally:
        os.umask(old)


# -- write_secret ------------------------------------------------------------------------


def test_write_secret_creates_0600_file_with_bytes(tmp_path: Path) -> None:
    target = tmp_path / "key"
    write_secret(target, b"\x00\x01secret")
    assert target.read_bytes() == b"\x00\x01secret"
    assert _mode(target) == 0o600
    assert stat.S_ISREG(os.stat(target).st_mode)


def test_write_secret_encodes_str(tmp_path: Path) -> None:
    target = tmp_path / "token"
    write_secret(target, "tökén")
    assert target.read_bytes() == "tökén".encode()
    assert _mode(target) == 0o600


def test_write_secret_creates_parent_0700(tmp_path: Path) -> None:
    target = tmp_path / "tokens.d" / "annex"
    write_secret(target, "t")
    assert _mode(target.parent) == 0o700
    assert _mode(target) == 0o600


@pytest.mark.usefixtures("open_umask")
def test_write_secret_modes_hold_with_umask_zero(tmp_path: Path) -> None:
    target = tmp_path / "passwords.d" / "POOL"
    write_secret(target, "pw")
    assert _mode(target.parent) == 0o700
    assert _mode(target) == 0o600


def test_write_secret_leaves_existing_parent_alone(tmp_path: Path) -> None:
    parent = tmp_path / "shared"
    parent.mkdir()
    parent.chmod(0o755)
    write_secret(parent / "key", "k")
    assert _mode(parent) == 0o755
    assert _mode(parent / "key") == 0o600


def test_write_secret_replaces_a_wide_existing_file(tmp_path: Path) -> None:
    target = tmp_path / "key"
    target.write_text("old secret that is much longer than the new one")
    target.chmod(0o644)
    write_secret(target, "new")
    assert target.read_text() == "new"
    assert _mode(target) == 0o600


def test_write_secret_fixes_a_stale_wide_tmp_file(tmp_path: Path) -> None:
    stale = tmp_path / ".key.tmp"
    stale.write_text("leftover from a crash, longer than the secret")
    stale.chmod(0o666)
    write_secret(tmp_path / "key", "s")
    assert (tmp_path / "key").read_text() == "s"
    assert _mode(tmp_path / "key") == 0o600


def test_write_secret_leaves_no_tmp_file(tmp_path: Path) -> None:
    write_secret(tmp_path / "key", "s")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["key"]


def test_written_secret_passes_the_check(tmp_path: Path) -> None:
    target = tmp_path / "d" / "key"
    write_secret(target, "s")
    assert check_secret_file(target) == target


# -- check_secret_file -------------------------------------------------------------------


@pytest.mark.parametrize("mode", [0o600, 0o400, 0o700])
def test_check_accepts_owner_only_modes(tmp_path: Path, mode: int) -> None:
    target = tmp_path / "key"
    target.write_text("s")
    target.chmod(mode)
    assert check_secret_file(target) == target


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o620, 0o660, 0o666, 0o777, 0o601])
def test_check_refuses_group_or_other_access(tmp_path: Path, mode: int) -> None:
    target = tmp_path / "key"
    target.write_text("s")
    target.chmod(mode)
    message = _refusal(target, "token file")
    assert message.startswith(f"token file {target} ")
    assert f"chmod 600 {target}" in message


def test_check_refuses_missing_file(tmp_path: Path) -> None:
    target = tmp_path / "missing"
    message = _refusal(target)
    assert message == f"secret file {target} does not exist"


def test_check_refuses_directory(tmp_path: Path) -> None:
    target = tmp_path / "dir"
    target.mkdir(mode=0o700)
    message = _refusal(target)
    assert message == f"secret file {target} is not a regular file"


def test_check_refuses_fifo(tmp_path: Path) -> None:
    target = tmp_path / "fifo"
    os.mkfifo(target, 0o600)
    assert "is not a regular file" in _refusal(target)


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to chown to another user")
def test_check_refuses_file_owned_by_someone_else(tmp_path: Path) -> None:
    target = tmp_path / "key"
    target.write_text("s")
    target.chmod(0o600)
    os.chown(target, 12345, -1)
    message = _refusal(target)
    assert "is not owned by you" in message


def test_check_refuses_path_under_a_file(tmp_path: Path) -> None:
    (tmp_path / "afile").write_text("x")
    _refusal(tmp_path / "afile" / "key")
