"""The contract every HTCondor runtime fulfils.

The rest of condor-annex builds argv lists and config files with host paths; a runtime
turns them into commands that run HTCondor's own binaries, and makes sure the paths it is
given are visible to those binaries under the same names.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Protocol

# A PATH that finds HTCondor's tools in a Debian-style install, native or chrooted.
SYSTEM_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


class Runtime(Protocol):
    kind: str

    def command(
        self, argv: Sequence[str], *, env: Mapping[str, str] | None = None, cwd: Path | None = None
    ) -> list[str]:
        """argv that runs an HTCondor program with `env` set and `cwd` as working directory."""
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
