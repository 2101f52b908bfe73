"""HTCondor installed on this machine itself (Debian 13, Ubuntu 24.04, HTCondor's repos)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path

from condor_annex.errors import UsageError
from condor_annex.runtime.base import (
    SYSTEM_PATH,
    as_user,
    env_assignments,
    run_checked,
    user_env,
)
from condor_annex.runtime.users import host_account, user_ids

PASSTHROUGH = ("HOME", "USER", "LANG", "TZ", "TERM")


class NativeRuntime:
    kind = "native"

    def __init__(self, sbin: Path) -> None:
        self.sbin = sbin

    def command(
        self,
        argv: Sequence[str],
        *,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
        user: str | None = None,
    ) -> list[str]:
        keep = {k: os.environ[k] for k in PASSTHROUGH if k in os.environ}
        identity: list[str] = []
        if user:
            entry = host_account(user)
            if entry is None:
                raise UsageError(f"user {user!r} does not exist; create it first")
            identity = as_user(entry.uid, entry.gid)
            keep.update(user_env(entry.name, entry.home))
        path = f"{self.sbin}:{SYSTEM_PATH}"
        return [
            *identity,
            "env",
            "-i",
            "-C",
            str(cwd or Path.cwd()),
            f"PATH={path}",
            *env_assignments(keep),
            *env_assignments(env),
            *argv,
        ]

    def share(self, path: Path) -> None:
        """Nothing to do: native binaries see the host's files."""

    def ensure_user(self, name: str) -> tuple[int, int]:
        entry = host_account(name)
        if entry is None:
            if shutil.which("useradd") is None:
                raise UsageError(f"user {name!r} does not exist; create it first")
            run_checked(["useradd", "--create-home", name], f"adding user {name}")
            entry = host_account(name)
            assert entry is not None
        return entry.uid, entry.gid

    def condor_ids(self) -> tuple[int, int]:
        return user_ids(Path("/etc/passwd"), "condor")

    def version(self) -> str:
        return run_checked(self.command(["condor_version"]), "condor_version").stdout.split()[1]
