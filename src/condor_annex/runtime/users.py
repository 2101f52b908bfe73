"""Reading accounts from a passwd file, so a chroot's users can be looked up from outside."""

from __future__ import annotations

from pathlib import Path

from condor_annex.errors import AnnexError


def user_ids(passwd: Path, name: str) -> tuple[int, int]:
    """(uid, gid) of `name` in the given passwd file."""
    for line in passwd.read_text().splitlines():
        fields = line.split(":")
        if len(fields) >= 4 and fields[0] == name:
            return int(fields[2]), int(fields[3])
    raise AnnexError(f"no account {name!r} in {passwd}")


def has_user(passwd: Path, name: str) -> bool:
    return any(line.split(":", 1)[0] == name for line in passwd.read_text().splitlines())
