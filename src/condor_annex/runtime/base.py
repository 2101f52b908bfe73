"""The contract every HTCondor runtime fulfils.

The rest of condor-annex builds argv lists and config files with host paths; a runtime
turns them into commands that run HTCondor's own binaries, and makes sure the paths it is
given are visible to those binaries under the same names.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Protocol

from condor_annex.errors import AnnexError

# A PATH that finds HTCondor's tools in a Debian-style install, native or chrooted.
SYSTEM_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


class Runtime(Protocol):
    kind: str

    def command(
        self,
        argv: Sequence[str],
        *,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
        user: str | None = None,
    ) -> list[str]:
        """argv that runs an HTCondor program with `env` set and `cwd` as working directory,
        as `user` (an account `ensure_user` made) when given, else as this process."""
        ...

    def share(self, path: Path) -> None:
        """Make a host directory visible to HTCondor programs under the same path."""
        ...

    def ensure_user(self, name: str) -> tuple[int, int]:
        """Make sure an ordinary user exists where jobs run; returns (uid, gid)."""
        ...

    def condor_ids(self) -> tuple[int, int]:
        """(uid, gid) of the `condor` account that owns daemon-writable directories."""
        ...

    def version(self) -> str:
        """HTCondor's version string, for example '23.9.6'."""
        ...


def env_assignments(env: Mapping[str, str] | None) -> list[str]:
    return [f"{k}={v}" for k, v in (env or {}).items()]


def merged_env(env: Mapping[str, str] | None) -> dict[str, str]:
    merged = dict(os.environ)
    merged.update(env or {})
    return merged


def as_user(uid: int, gid: int) -> list[str]:
    """argv prefix that drops to an ordinary user with that user's groups (util-linux)."""
    return ["setpriv", f"--reuid={uid}", f"--regid={gid}", "--init-groups"]


def user_env(name: str, home: str) -> dict[str, str]:
    return {"HOME": home, "USER": name, "LOGNAME": name}


def last_error_line(stderr: str) -> str:
    """What a failed tool said last, the reason in HTCondor's tools. HTCondor splits some
    messages as "...:" and then the detail, so such a pair is kept together."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    if not lines:
        return ""
    if len(lines) > 1 and lines[-2].endswith(":"):
        return f"{lines[-2]} {lines[-1]}"
    return lines[-1]


def tool_failure(what: str, proc: subprocess.CompletedProcess[str]) -> str:
    """'<what> (exit N): <the tool's last error line>'; stdout is never used (a token
    tool prints its secret there)."""
    message = f"{what} (exit {proc.returncode})"
    reason = last_error_line(proc.stderr or "")
    return f"{message}: {reason}" if reason else message


def run_checked(argv: Sequence[str], what: str) -> subprocess.CompletedProcess[str]:
    """Run a tool; if it fails, an AnnexError that says `what` failed and why."""
    proc = subprocess.run(list(argv), capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise AnnexError(tool_failure(f"{what} failed", proc))
    return proc
