"""The image scrub and secret scan (image-common.sh) on a home of the test's own: the
credentials people's tools keep (docker, git, netrc, cloud CLIs under ~/.config) go and
are found by the scan; what is not a credential stays. Also: the installers refuse an
image that can have no metadata block (issue 9, Low and Medium 7)."""

from __future__ import annotations

import shlex
import subprocess
from pathlib import Path

from .test_image_build import COMMON, TEMPLATES

CREDENTIALS = [
    ".docker/config.json",
    ".git-credentials",
    ".netrc",
    ".config/gcloud/credentials.db",
    ".config/gh/hosts.yml",
    ".aws/credentials",
]
KEPT = [".bashrc", ".config/htop/htoprc", ".docker/cli-plugins/readme"]


def common(snippet: str) -> subprocess.CompletedProcess[str]:
    """Run `snippet` with image-common.sh's functions (sourced, never run)."""
    script = f". {shlex.quote(str(TEMPLATES / COMMON))}\n{snippet}"
    return subprocess.run(["bash", "-c", script], capture_output=True, text=True, check=False)


def test_scrub_removes_tool_credentials_and_the_scan_finds_them(tmp_path: Path) -> None:
    home = tmp_path / "home" / "builder"
    for name in CREDENTIALS + KEPT:
        (home / name).parent.mkdir(parents=True, exist_ok=True)
        (home / name).write_text("x\n")
    scan = common(f"SCAN_ROOTS={shlex.quote(str(tmp_path))}\nsecret_scan")
    found = {line.split(": ")[0] for line in scan.stdout.splitlines()}
    assert {str(home / name) for name in CREDENTIALS} <= found, scan.stdout

    done = common(f"scrub_homes {shlex.quote(str(home))}")
    assert done.returncode == 0, done.stderr
    assert [name for name in CREDENTIALS if (home / name).exists()] == []
    assert all((home / name).exists() for name in KEPT)
    rescan = common(f"SCAN_ROOTS={shlex.quote(str(tmp_path))}\nsecret_scan")
    assert rescan.stdout == ""


def test_installers_refuse_an_image_without_iptables_or_nftables(tmp_path: Path) -> None:
    # No package manager can install either, and neither is on PATH.
    done = common(
        "OS_FAMILY=debian\npkg_install() { return 1; }\nPATH=/nonexistent\ninstall_firewall"
    )
    assert done.returncode == 1
    assert "neither iptables nor nftables" in done.stdout
    for role in ("install-worker.sh", "install-seed.sh"):
        assert "\ninstall_firewall" in (TEMPLATES / role).read_text()
