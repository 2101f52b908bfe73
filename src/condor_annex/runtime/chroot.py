"""HTCondor from Debian 13, kept in its own root on a machine that has no package for it.

Bookworm has no HTCondor package; running trixie's binaries in a chroot keeps both libcs
apart. Paths are shared by bind-mounting host directories at the same place inside.
"""

from __future__ import annotations

import os
import pwd
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

from condor_annex.runtime import mounts
from condor_annex.runtime.base import SYSTEM_PATH, env_assignments
from condor_annex.runtime.users import has_user, user_ids

# Always visible inside: processes, devices, and the shared temporary directory.
BASE_SHARES = (Path("/dev"), Path("/tmp"))  # noqa: S108 - shared on purpose, like schroot
PASSTHROUGH = ("LANG", "TZ", "TERM")


def _sync_file(source: Path, target: Path) -> None:
    data = source.read_bytes()
    if not target.exists() or target.read_bytes() != data:
        target.write_bytes(data)


class ChrootRuntime:
    kind = "chroot"

    def __init__(self, root: Path) -> None:
        self.root = root

    def _inside(self, path: Path) -> Path:
        return self.root / path.relative_to("/")

    def prepare(self) -> None:
        """Mount /proc, /dev and /tmp inside the root and refresh /etc/hosts (idempotent)."""
        proc = self.root / "proc"
        if not mounts.is_mounted(proc):
            mounts.mount_proc(proc)
        for path in BASE_SHARES:
            if not mounts.is_mounted(self._inside(path)):
                mounts.bind(path, self._inside(path))
        for name in ("hosts", "resolv.conf"):
            _sync_file(Path("/etc") / name, self.root / "etc" / name)

    def command(
        self, argv: Sequence[str], *, env: Mapping[str, str] | None = None, cwd: Path | None = None
    ) -> list[str]:
        keep = [f"{k}={os.environ[k]}" for k in PASSTHROUGH if k in os.environ]
        workdir = cwd or Path.cwd()
        self.share(workdir)
        return [
            "chroot",
            str(self.root),
            "/usr/bin/env",
            "-i",
            "-C",
            str(workdir),
            f"PATH={SYSTEM_PATH}",
            "HOME=/root",
            *keep,
            *env_assignments(env),
            *argv,
        ]

    def share(self, path: Path) -> None:
        path = path.resolve()
        self.prepare()
        inside = self._inside(path)
        points = set(mounts.mount_points())
        covered = [inside, *inside.parents]
        if any(p in points for p in covered if p != self.root and self.root in p.parents):
            return
        if inside.exists() and (not inside.is_dir() or any(inside.iterdir())):
            return  # the root's own directory (/, /etc, /usr, ...): never shadow it
        mounts.bind(path, inside)

    def ensure_user(self, name: str) -> tuple[int, int]:
        passwd = self.root / "etc/passwd"
        if not has_user(passwd, name):
            argv = ["useradd", "--create-home", "--shell", "/bin/sh"]
            try:
                host_uid = pwd.getpwnam(name).pw_uid
                argv += ["--uid", str(host_uid)]  # same uid inside and out: file owners agree
            except KeyError:
                pass
            subprocess.run(self.command([*argv, name], cwd=Path("/")), check=True)
        return user_ids(passwd, name)

    def condor_ids(self) -> tuple[int, int]:
        return user_ids(self.root / "etc/passwd", "condor")

    def version(self) -> str:
        out = subprocess.run(
            self.command(["condor_version"], cwd=Path("/")),
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        return out.split()[1]
