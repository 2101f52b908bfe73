"""Where HTCondor's daemons and tools come from: this machine, or a private Debian 13 root.

`get_runtime()` finds an installed runtime; `install_runtime()` makes one. Callers only
see the `Runtime` protocol and never care which kind they got.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

from condor_annex.errors import UsageError
from condor_annex.runtime.base import Runtime
from condor_annex.runtime.chroot import ChrootRuntime
from condor_annex.runtime.install import install_chroot, is_ready
from condor_annex.runtime.native import NativeRuntime

__all__ = ["Runtime", "get_runtime", "install_runtime", "runtime_dir"]


def runtime_dir() -> Path:
    """Cache directory for the private root (outside any checkout)."""
    if os.environ.get("CONDOR_ANNEX_RUNTIME_DIR"):
        return Path(os.environ["CONDOR_ANNEX_RUNTIME_DIR"])
    cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
    return cache / "condor-annex" / "runtime"


def _native() -> NativeRuntime | None:
    if os.environ.get("CONDOR_ANNEX_RUNTIME") == "chroot":
        return None
    master = shutil.which("condor_master")
    return NativeRuntime(Path(master).parent) if master else None


def get_runtime() -> Runtime:
    native = _native()
    if native:
        return native
    root = runtime_dir() / "trixie"
    if not is_ready(root):
        raise UsageError(
            "no HTCondor runtime found; run 'annex runtime install' (or scripts/bootstrap)"
        )
    runtime = ChrootRuntime(root)
    runtime.prepare()
    return runtime


def install_runtime(say: Callable[[str], None] = print) -> Runtime:
    native = _native()
    if native:
        say(f"Using the HTCondor installed on this machine ({native.sbin}).")
        return native
    return install_chroot(runtime_dir() / "trixie", say)
