"""The HTCondor runtime install is idempotent and repairs an interrupted install.

The interruption test builds a second, private runtime from scratch (debootstrap and the
`condor` package from Debian's archive: about two minutes) and kills the installer with
SIGKILL twice, once in each stage, before letting a re-run finish it.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path

import pytest
from tests.commands import BIN, run_command

from condor_annex.runtime import get_runtime, runtime_dir
from condor_annex.runtime.chroot import ChrootRuntime
from condor_annex.runtime.install import DEBOOTSTRAP_MARK, READY_MARK
from condor_annex.runtime.mounts import unmount_all_below
from condor_annex.waiting import wait_for


def _install(env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return run_command("annex", "runtime", "install", env=env, timeout=900)


def test_rerun_after_success_changes_nothing() -> None:
    runtime = get_runtime()
    if runtime.kind != "chroot":
        pytest.skip("a native HTCondor needs no install")
    root = runtime_dir() / "trixie"
    log = root.parent / "trixie-install.log"
    before = (log.stat().st_size if log.exists() else 0, (root / READY_MARK).stat().st_mtime)
    proc = _install()
    assert proc.returncode == 0, proc.stderr
    assert f"chroot, version {runtime.version()}" in proc.stdout
    after = (log.stat().st_size if log.exists() else 0, (root / READY_MARK).stat().st_mtime)
    assert after == before  # no debootstrap, no apt-get: nothing was redone


def _kill_installer_when(condition: Callable[[], bool], env: dict[str, str], what: str) -> None:
    """Start `annex runtime install` and SIGKILL its whole tree once `condition` holds."""
    installer = subprocess.Popen(
        [str(BIN / "annex"), "runtime", "install"],
        env={**os.environ, **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    wait_for(condition, 600, what, 0.2)
    os.killpg(installer.pid, signal.SIGKILL)
    installer.wait(timeout=30)


def test_interrupted_install_is_repaired() -> None:
    if get_runtime().kind != "chroot":
        pytest.skip("a native HTCondor needs no install")
    # Outside /tmp: the root bind-mounts /tmp inside itself, which must not nest.
    base = Path(tempfile.mkdtemp(prefix="condor-annex-runtime-test-", dir="/var/tmp"))
    env = {"CONDOR_ANNEX_RUNTIME_DIR": str(base)}
    root = base / "trixie"
    try:
        # 1. Killed while debootstrap is unpacking the base system.
        _kill_installer_when((root / "usr" / "bin").is_dir, env, "debootstrap to unpack")
        assert not (root / DEBOOTSTRAP_MARK).exists()
        # 2. Re-run, killed again once the base system is done (while apt installs condor).
        _kill_installer_when((root / DEBOOTSTRAP_MARK).exists, env, "debootstrap to finish")
        assert not (root / READY_MARK).exists()

        # 3. A plain re-run repairs whatever was left and finishes.
        proc = _install(env)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert (root / READY_MARK).read_text().strip() == ChrootRuntime(root).version()
    finally:
        if root.exists():
            unmount_all_below(root)  # raises rather than delete through a live bind mount
        shutil.rmtree(base, ignore_errors=True)
