"""Ordinary users of this machine for tests that act as a person would (own home, own
uid), removed again afterwards: from this machine, and from the HTCondor runtime, whose
share of the home is unmounted first so that removing the account removes nothing else."""

from __future__ import annotations

import contextlib
import secrets
import subprocess
from collections.abc import Iterator
from pathlib import Path

from condor_annex.runtime import get_runtime, mounts
from condor_annex.runtime.chroot import ChrootRuntime
from condor_annex.runtime.users import Account, has_user, host_account


@contextlib.contextmanager
def host_user(prefix: str = "annexperson", uid: int | None = None) -> Iterator[Account]:
    """A new account on this machine with a home in /home (not /tmp, as a person has)."""
    name = f"{prefix}{secrets.token_hex(3)}"
    argv = ["useradd", "--create-home", "--shell", "/bin/sh"]
    if uid is not None:
        argv += ["--uid", str(uid)]
    subprocess.run([*argv, name], check=True, capture_output=True)
    try:
        entry = host_account(name)
        assert entry is not None
        yield entry
    finally:
        remove_user(name)


def remove_user(name: str) -> None:
    """Remove the account from the runtime (if it has one of its own) and this machine."""
    runtime = get_runtime()
    entry = host_account(name)
    if isinstance(runtime, ChrootRuntime):
        if entry is not None:
            inside = runtime.root / Path(entry.home).relative_to("/")
            mounts.unmount_all_below(inside)
            with contextlib.suppress(OSError):
                inside.rmdir()  # the empty mount point
        if has_user(runtime.passwd, name):
            remove_runtime_account(name)
    if entry is not None:
        subprocess.run(["userdel", "--remove", name], check=False, capture_output=True)


def remove_runtime_account(name: str) -> None:
    """Remove an account that exists only in the runtime (with the home made there)."""
    runtime = get_runtime()
    flags = ["--remove"] if host_account(name) is None else []
    argv = runtime.command(["userdel", *flags, name], cwd=Path("/"))
    subprocess.run(argv, check=False, capture_output=True)
