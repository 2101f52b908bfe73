"""HTCondor installed on this machine itself (Debian 13, Ubuntu 24.04, HTCondor's repos)."""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

from condor_annex.errors import UsageError
from condor_annex.runtime.base import SYSTEM_PATH, env_assignments
from condor_annex.runtime.users import user_ids

PASSTHROUGH = ("HOME", "USER", "LANG", "TZ", "TERM")


class NativeRuntime:
    kind = "native"

    def __init__(self, sbin: Path) -> None:
        self.sbin = sbin

    def command(
        self, argv: Sequence[str], *, env: Mapping[str, str] | None = None, cwd: Path | None = None
    ) -> list[str]:
        keep = [f"{k}={os.environ[k]}" for k in PASSTHROUGH if k in os.environ]
        path = f"{self.sbin}:{SYSTEM_PATH}"
        return [
            "env",
            "-i",
            "-C",
            str(cwd or Path.cwd()),
            f"PATH={path}",
            *keep,
            *env_assignments(env),
            *argv,
        ]

    def share(self, path: Path) -> None:
        """Nothing to do: native binaries see the host's files."""

    def ensure_user(self, name: str) -> tuple[int, int]:
        try:
            pw = pwd.getpwnam(name)
        except KeyError:
            if shutil.which("useradd") is None:
                raise UsageError(f"user {name!r} does not exist; create it first") from None
            subprocess.run(["useradd", "--create-home", name], check=True)
            pw = pwd.getpwnam(name)
        return pw.pw_uid, pw.pw_gid

    def condor_ids(self) -> tuple[int, int]:
        return user_ids(Path("/etc/passwd"), "condor")

    def version(self) -> str:
        out = subprocess.run(
            self.command(["condor_version"]), capture_output=True, text=True, check=True
        ).stdout
        return out.split()[1]
