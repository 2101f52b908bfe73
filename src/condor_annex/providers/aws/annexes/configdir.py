"""-config-dir DIR: extra HTCondor configuration for every worker of one annex.

The directory's files travel in the annex's own bundle (`annexes/<name>/config.d/<file>`
in the configuration bucket, with `config.d.list` naming them), which only that annex's
workers can read, and the boot script installs them into the worker's configuration
directory, read after the annex's own configuration. Checked before anything is made:
only regular files (no links, directories or devices), names that are plain file names
(they become paths on the worker), and sizes that fit.
"""

from __future__ import annotations

import re
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from condor_annex.errors import UsageError
from condor_annex.providers.aws.annexes.bundleupload import object_key, put_piece

LIST = "config.d.list"
FOLDER = "config.d/"
MAX_FILES = 100
MAX_BYTES = 1024 * 1024  # all files together
# Letters, digits, '.', '_' and '-', not starting with '.': no path, no hidden file. The
# boot script checks names the same way before it writes one.
SAFE_NAME = re.compile(r"^[A-Za-z0-9_-][A-Za-z0-9._-]{0,99}$")


@dataclass(frozen=True)
class ConfigFile:
    name: str
    data: bytes

    def __repr__(self) -> str:  # contents can be long (or secret); names are enough
        return f"ConfigFile({self.name!r}, {len(self.data)} bytes)"


def read_config_dir(directory: Path, flag: str = "--config-dir") -> tuple[ConfigFile, ...]:
    """The directory's files, in name order, or a one-line error naming what is wrong."""
    try:
        info = directory.lstat()
    except OSError as err:
        raise UsageError(f"{flag} {directory} cannot be read: {err.strerror}") from None
    if not stat.S_ISDIR(info.st_mode):
        raise UsageError(f"{flag} {directory} is not a directory")
    files: list[ConfigFile] = []
    total = 0
    for entry in sorted(directory.iterdir()):
        mode = entry.lstat().st_mode
        if not stat.S_ISREG(mode):
            kind = "a link" if stat.S_ISLNK(mode) else "not a regular file"
            raise UsageError(f"{flag}: {entry} is {kind}; only regular files are copied")
        if not SAFE_NAME.match(entry.name):
            raise UsageError(
                f"{flag}: file name {entry.name!r} is not allowed; use letters, digits, "
                "'.', '_' and '-' (not starting with '.')"
            )
        try:
            data = entry.read_bytes()
        except OSError as err:
            raise UsageError(f"{flag}: {entry} cannot be read: {err.strerror}") from None
        total += len(data)
        files.append(ConfigFile(entry.name, data))
    if not files:
        raise UsageError(f"{flag} {directory} holds no files")
    if len(files) > MAX_FILES or total > MAX_BYTES:
        raise UsageError(
            f"{flag} {directory} is too big ({len(files)} files, {total} bytes); "
            f"at most {MAX_FILES} files and {MAX_BYTES // 1024} KB"
        )
    return tuple(files)


def upload_config_files(s3: Any, bucket: str, prefix: str, files: tuple[ConfigFile, ...]) -> None:
    """The files, then the list the boot script reads (so the list never names a file
    that is not there yet), under the annex's prefix."""
    for item in files:
        put_piece(s3, bucket, object_key(prefix, f"{FOLDER}{item.name}"), item.data)
    put_piece(s3, bucket, object_key(prefix, LIST), "".join(f"{f.name}\n" for f in files))
