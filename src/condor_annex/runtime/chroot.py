"""HTCondor from Debian 13, kept in its own root on a machine that has no package for it.

Bookworm has no HTCondor package; running trixie's binaries in a chroot keeps both libcs
apart. Paths are shared by bind-mounting host directories at the same place inside, and
a share is checked to still show its host directory (see `mounts.same_directory`).

Accounts inside have the uids they have on this machine, so files have one owner inside
and out; an account of this machine also keeps its home directory, shared.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

from condor_annex.errors import UsageError
from condor_annex.runtime import mounts
from condor_annex.runtime.base import (
    SYSTEM_PATH,
    as_user,
    env_assignments,
    run_checked,
    user_env,
)
from condor_annex.runtime.users import (
    FIRST_ORDINARY_UID,
    Account,
    account,
    free_uid,
    has_user,
    host_account,
    owner_of_uid,
    user_ids,
)

# Always visible inside: processes, devices, and the shared temporary directory.
BASE_SHARES = (Path("/dev"), Path("/tmp"))  # noqa: S108 - shared on purpose, like schroot
PASSTHROUGH = ("LANG", "TZ", "TERM")
USERS_LOCK = ".condor-annex-users.lock"
MOUNTS_LOCK = ".condor-annex-mounts.lock"


def _sync_file(source: Path, target: Path) -> None:
    data = source.read_bytes()
    if not target.exists() or target.read_bytes() != data:
        target.write_bytes(data)


class ChrootRuntime:
    kind = "chroot"

    def __init__(self, root: Path) -> None:
        self.root = root
        self.passwd = root / "etc/passwd"

    def _inside(self, path: Path) -> Path:
        return self.root / path.relative_to("/")

    def prepare(self) -> None:
        """Mount /proc, /dev and /tmp inside the root and refresh /etc/hosts (idempotent)."""
        with self._locked(MOUNTS_LOCK):
            self._prepare()

    def _prepare(self) -> None:
        points = set(mounts.mount_points())
        proc = self.root / "proc"
        if proc not in points:
            mounts.mount_proc(proc)
        for path in BASE_SHARES:
            if not self._live_share(self._inside(path), points):
                mounts.bind(path, self._inside(path))
        for name in ("hosts", "resolv.conf"):
            _sync_file(Path("/etc") / name, self.root / "etc" / name)

    def _host_path(self, point: Path) -> Path:
        return Path("/") / point.relative_to(self.root)

    def _live_share(self, point: Path, points: set[Path]) -> bool:
        """Whether the mount point inside shows its host directory; a stale one (its
        directory was deleted, perhaps made again) is unmounted, and False returned."""
        if point not in points:
            return False
        if mounts.same_directory(self._host_path(point), point):
            return True
        mounts.unmount_all_below(point)
        return False

    def command(
        self,
        argv: Sequence[str],
        *,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
        user: str | None = None,
    ) -> list[str]:
        keep = [f"{k}={os.environ[k]}" for k in PASSTHROUGH if k in os.environ]
        workdir = cwd or Path.cwd()
        self.share(workdir)
        identity: list[str] = []
        who = {"HOME": "/root"}
        if user:
            entry = account(self.passwd, user)
            identity = as_user(entry.uid, entry.gid)
            who = user_env(entry.name, entry.home)
        return [
            "chroot",
            str(self.root),
            *identity,
            "/usr/bin/env",
            "-i",
            "-C",
            str(workdir),
            f"PATH={SYSTEM_PATH}",
            *env_assignments(who),
            *keep,
            *env_assignments(env),
            *argv,
        ]

    def share(self, path: Path) -> None:
        path = path.resolve()
        self.prepare()
        with self._locked(MOUNTS_LOCK):
            self._share(path)

    def _share(self, path: Path) -> None:
        inside = self._inside(path)
        points = set(mounts.mount_points())
        below_root = [p for p in (inside, *inside.parents) if self.root in p.parents]
        point = next((p for p in below_root if p in points), None)
        if point is not None:
            if self._live_share(point, points):
                return
            if point != inside and self._host_path(point).is_dir():
                # It was stale: share that directory again, as it was shared before.
                mounts.bind(self._host_path(point), point)
                return
        if inside.exists() and (not inside.is_dir() or any(inside.iterdir())):
            return  # the root's own directory (/, /etc, /usr, ...): never shadow it
        mounts.bind(path, inside)

    # -- locks and accounts ------------------------------------------------------------
    @contextlib.contextmanager
    def _locked(self, name: str) -> Iterator[None]:
        """One change at a time (accounts, or mounts), across every process sharing this
        root: two that checked before either acted would both act."""
        with (self.root / name).open("a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            yield

    def ensure_user(self, name: str) -> tuple[int, int]:
        host = host_account(name)
        with self._locked(USERS_LOCK):
            if not has_user(self.passwd, name):
                self._add_user(name, host)
        if host is not None and host.uid >= FIRST_ORDINARY_UID and Path(host.home).is_dir():
            self.share(Path(host.home))
        return user_ids(self.passwd, name)

    def _add_user(self, name: str, host: Account | None) -> None:
        argv = ["useradd", "--shell", "/bin/sh"]
        if host is None:  # exists only here, for jobs: a uid this machine does not use
            argv += ["--create-home", "--uid", str(free_uid(self.passwd))]
        else:  # same uid and home inside and out: file owners and paths agree
            self._release_uid(host.uid, name)
            argv += ["--no-create-home", "--home-dir", host.home, "--uid", str(host.uid)]
        self._admin([*argv, name], f"adding user {name} to the HTCondor runtime")

    def _release_uid(self, uid: int, name: str) -> None:
        """Make `uid` free for `name`, whose uid it is on this machine.

        An ordinary account that holds it inside only (made here for jobs, or out of step
        with this machine) moves to its own uid here, or to a free one. A system
        account, or a uid two names share here, is for a person to sort out.
        """
        other = owner_of_uid(self.passwd, uid)
        if other is None or other == name:
            return
        where = f"the HTCondor runtime ({self.root})"
        other_host = host_account(other)
        if uid < FIRST_ORDINARY_UID or (other_host is not None and other_host.uid == uid):
            kind = "the system account" if uid < FIRST_ORDINARY_UID else "the account"
            raise UsageError(
                f"user {name} has uid {uid} on this machine, but in {where} uid {uid} is "
                f"{kind} {other}; give {name} a uid of its own (usermod -u)"
            )
        target = free_uid(self.passwd)
        if other_host is not None and owner_of_uid(self.passwd, other_host.uid) is None:
            target = other_host.uid
        self._admin(
            ["usermod", "--uid", str(target), other],
            f"moving {other} in {where} from uid {uid} (which is {name}'s) to {target}",
        )

    def _admin(self, argv: list[str], what: str) -> None:
        run_checked(self.command(argv, cwd=Path("/")), what)

    def condor_ids(self) -> tuple[int, int]:
        return user_ids(self.passwd, "condor")

    def version(self) -> str:
        proc = run_checked(self.command(["condor_version"], cwd=Path("/")), "condor_version")
        return proc.stdout.split()[1]
