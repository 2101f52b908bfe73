"""Reading accounts from a passwd file, so a chroot's users can be looked up from outside."""

from __future__ import annotations

import pwd
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from condor_annex.errors import AnnexError

# Debian's UID_MIN: accounts below it are the system's own, never renumbered.
FIRST_ORDINARY_UID = 1000
# Accounts that exist only where jobs run (no account of that name on this machine) get
# uids from here, far above where this machine's own useradd counts from, so a user
# added here later does not take a uid that already means someone else there.
RUNTIME_ONLY_UIDS = range(50000, 60000)


@dataclass(frozen=True)
class Account:
    name: str
    uid: int
    gid: int
    home: str


def accounts(passwd: Path) -> Iterator[Account]:
    for line in passwd.read_text().splitlines():
        fields = line.split(":")
        if len(fields) >= 6 and fields[2].isdigit() and fields[3].isdigit():
            yield Account(fields[0], int(fields[2]), int(fields[3]), fields[5])


def account(passwd: Path, name: str) -> Account:
    for entry in accounts(passwd):
        if entry.name == name:
            return entry
    raise AnnexError(f"no account {name!r} in {passwd}")


def user_ids(passwd: Path, name: str) -> tuple[int, int]:
    """(uid, gid) of `name` in the given passwd file."""
    entry = account(passwd, name)
    return entry.uid, entry.gid


def has_user(passwd: Path, name: str) -> bool:
    return any(entry.name == name for entry in accounts(passwd))


def owner_of_uid(passwd: Path, uid: int) -> str | None:
    return next((entry.name for entry in accounts(passwd) if entry.uid == uid), None)


def host_account(name: str) -> Account | None:
    """The account of that name on this machine itself, if any."""
    try:
        pw = pwd.getpwnam(name)
    except KeyError:
        return None
    return Account(pw.pw_name, pw.pw_uid, pw.pw_gid, pw.pw_dir)


def free_uid(passwd: Path) -> int:
    """A uid for a runtime-only account: unused both in `passwd` and on this machine."""
    taken = {entry.uid for entry in accounts(passwd)}
    for uid in RUNTIME_ONLY_UIDS:
        if uid in taken:
            continue
        try:
            pwd.getpwuid(uid)
        except KeyError:
            return uid
    raise AnnexError(f"no free uid left in {RUNTIME_ONLY_UIDS} for {passwd}")
