"""Secret files: written 0600 from the start, and refused when others can read them.

Tokens and signing keys never pass through stdout or logs; they go from the process that
makes them straight into a file created with mode 0600 (no window with wider rights).
"""

from __future__ import annotations

import os
import shlex
import stat
from pathlib import Path

from condor_annex.errors import UsageError


def write_secret(path: Path, data: bytes | str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    payload = data.encode() if isinstance(data, str) else data
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, payload)
    finally:
        os.close(fd)
    os.replace(tmp, path)


def check_secret_file(path: Path, what: str = "secret file") -> Path:
    """Refuse a secret that is missing, not a file, or readable by group or others."""
    try:
        st = path.stat()
    except FileNotFoundError:
        raise UsageError(f"{what} {path} does not exist") from None
    except OSError as err:
        raise UsageError(f"{what} {path} cannot be read: {err.strerror}") from None
    if not stat.S_ISREG(st.st_mode):
        raise UsageError(f"{what} {path} is not a regular file")
    if st.st_mode & 0o077:
        fix = f"chmod 600 {shlex.quote(str(path))}"
        raise UsageError(f"{what} {path} is readable by others; run: {fix}")
    if st.st_uid != os.geteuid():
        raise UsageError(f"{what} {path} is not owned by you; it must be")
    return path
