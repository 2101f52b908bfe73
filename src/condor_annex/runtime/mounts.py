"""Mount bookkeeping for the chroot runtime.

Host directories are bind-mounted into the root at the same path, so a config file,
submit file or job directory has one name inside and out.
"""

from __future__ import annotations

import subprocess
from pathlib import Path


def _unescape(field: str) -> str:
    # /proc/self/mountinfo escapes space, tab, newline and backslash as octal.
    return field.encode().decode("unicode_escape")


def mount_points() -> list[Path]:
    points = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        points.append(Path(_unescape(line.split()[4])))
    return points


def is_mounted(path: Path) -> bool:
    return path in mount_points()


def mounts_below(root: Path) -> list[Path]:
    """Mount points at or below `root`, deepest first (the order to unmount them)."""
    below = [p for p in mount_points() if p == root or root in p.parents]
    return sorted(set(below), key=lambda p: len(p.parts), reverse=True)


def same_directory(a: Path, b: Path) -> bool:
    """Whether two paths are one directory (device and inode), as a live bind mount shows
    its source. A bind of a directory that was deleted (and perhaps made again) keeps the
    old inode: it is stale, and what is visible through it is gone."""
    try:
        sa, sb = a.stat(), b.stat()
    except OSError:
        return False
    return (sa.st_dev, sa.st_ino) == (sb.st_dev, sb.st_ino)


def bind(source: Path, target: Path) -> None:
    target.mkdir(parents=True, exist_ok=True)
    subprocess.run(["mount", "--bind", str(source), str(target)], check=True)


def mount_proc(target: Path) -> None:
    target.mkdir(parents=True, exist_ok=True)
    subprocess.run(["mount", "-t", "proc", "proc", str(target)], check=True)


def unmount_all_below(root: Path) -> None:
    """Unmount everything under `root`; raises if anything stays mounted.

    Deleting a root with live bind mounts would delete the host directories behind them.
    """
    for point in mounts_below(root):
        subprocess.run(["umount", "-l", str(point)], check=False)
    left = mounts_below(root)
    if left:
        raise RuntimeError(f"still mounted under {root}: {', '.join(map(str, left))}")
