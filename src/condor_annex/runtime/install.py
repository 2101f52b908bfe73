"""Installing the HTCondor runtime: idempotent, and repairing after an interruption.

Stages leave markers in the root, so a re-run skips what is done and redoes what is not:
  1. debootstrap a minimal Debian 13 root  -> marker .stage-debootstrap
  2. apt-get install PACKAGES inside it    -> marker .condor-annex-ready (holds the version)
A root without the first marker is half-made and is removed (after unmounting) and rebuilt.

PACKAGES is `condor` plus the tools an AWS worker's boot script needs (curl for the
metadata service, boto3 for S3), so the boot script runs for real in tests. A ready root
that lacks some of them (made by an older version) gets just those on the next install;
a complete root is checked against dpkg's status file only, with no apt at all.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

from condor_annex.errors import UsageError
from condor_annex.runtime import mounts
from condor_annex.runtime.chroot import ChrootRuntime

SUITE = "trixie"
DEBOOTSTRAP_MARK = ".stage-debootstrap"
READY_MARK = ".condor-annex-ready"
# What the AWS worker boot script (providers/aws/templates/worker-boot.sh) runs besides
# HTCondor: curl for the metadata service, python3 with boto3 for S3 (about 8 MB of
# downloads; Debian's awscli would be 11 MB and pull in much more).
WORKER_TOOLS = ("curl", "python3-boto3")
PACKAGES = ("condor", *WORKER_TOOLS)
DPKG_STATUS = Path("var/lib/dpkg/status")

Say = Callable[[str], None]


def _run(argv: list[str], log: Path) -> None:
    with log.open("a") as out:
        proc = subprocess.run(argv, stdout=out, stderr=subprocess.STDOUT, check=False)
    if proc.returncode != 0:
        raise UsageError(f"{argv[0]} failed (exit {proc.returncode}); see {log}")


def debian_mirror() -> str:
    """The Debian mirror this machine's apt already uses (or CONDOR_ANNEX_DEBIAN_MIRROR)."""
    if os.environ.get("CONDOR_ANNEX_DEBIAN_MIRROR"):
        return os.environ["CONDOR_ANNEX_DEBIAN_MIRROR"]
    sources = [Path("/etc/apt/sources.list"), *sorted(Path("/etc/apt/sources.list.d").glob("*"))]
    for source in sources:
        if not source.is_file() or not source.name.endswith((".list", ".sources")):
            continue
        text = source.read_text()
        # deb822 stanzas: a URIs: line whose stanza names a plain (non-security) suite.
        for stanza in text.split("\n\n"):
            uris = re.search(r"^URIs:\s*(\S+)", stanza, re.M)
            suites = re.search(r"^Suites:\s*(.+)$", stanza, re.M)
            if uris and suites and "security" not in suites.group(1) and "debian" in uris.group(1):
                return uris.group(1)
        for match in re.finditer(r"^deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+(\S+)", text, re.M):
            if "security" not in match.group(2) and "debian" in match.group(1):
                return match.group(1)
    raise UsageError("no Debian mirror found in apt's sources; set CONDOR_ANNEX_DEBIAN_MIRROR")


def _ensure_debootstrap(say: Say, log: Path) -> None:
    if shutil.which("debootstrap"):
        return
    if not shutil.which("apt-get"):
        raise UsageError("debootstrap is missing and there is no apt-get to install it")
    say("Installing debootstrap from Debian's packages...")
    env_argv = ["env", "DEBIAN_FRONTEND=noninteractive"]
    _run([*env_argv, "apt-get", "update", "-qq"], log)
    _run([*env_argv, "apt-get", "install", "-y", "-qq", "debootstrap"], log)


def is_ready(root: Path) -> bool:
    return (root / READY_MARK).is_file()


def missing_packages(root: Path, packages: tuple[str, ...] = PACKAGES) -> list[str]:
    """The packages dpkg does not list as fully installed in the root (no subprocess)."""
    status = root / DPKG_STATUS
    text = status.read_text() if status.is_file() else ""
    installed = set()
    for stanza in text.split("\n\n"):
        name = re.search(r"^Package: (\S+)$", stanza, re.M)
        state = re.search(r"^Status: (.+)$", stanza, re.M)
        if name and state and state.group(1).split()[-1] == "installed":
            installed.add(name.group(1))
    return [p for p in packages if p not in installed]


def _apt_install(runtime: ChrootRuntime, packages: list[str], log: Path) -> None:
    apt = ["env", "DEBIAN_FRONTEND=noninteractive"]
    # dpkg --configure -a finishes whatever an interrupted earlier run left half-configured.
    _run(runtime.command([*apt, "dpkg", "--configure", "-a"], cwd=Path("/")), log)
    _run(runtime.command([*apt, "apt-get", "update", "-qq"], cwd=Path("/")), log)
    _run(runtime.command([*apt, "apt-get", "install", "-y", "-qq", *packages], cwd=Path("/")), log)


def install_chroot(root: Path, say: Say) -> ChrootRuntime:
    """Build (or repair, or complete) a Debian 13 root holding PACKAGES."""
    if os.geteuid() != 0:
        raise UsageError("installing the HTCondor runtime needs root (run as root or via sudo)")
    root.parent.mkdir(parents=True, exist_ok=True)
    log = root.parent / f"{root.name}-install.log"
    runtime = ChrootRuntime(root)
    if is_ready(root):
        runtime.prepare()
        missing = missing_packages(root)
        if missing:  # a root from an older version: add what it lacks, nothing else
            say(f"Adding {', '.join(missing)} to the HTCondor runtime...")
            _apt_install(runtime, missing, log)
        return runtime

    if not (root / DEBOOTSTRAP_MARK).is_file():
        if root.exists():
            say(f"Removing a half-made runtime at {root}...")
            mounts.unmount_all_below(root)
            shutil.rmtree(root)
        _ensure_debootstrap(say, log)
        say(f"Building a Debian 13 root for HTCondor at {root} (about a minute)...")
        _run(["debootstrap", "--variant=minbase", SUITE, str(root), debian_mirror()], log)
        (root / DEBOOTSTRAP_MARK).write_text("ok\n")

    runtime.prepare()
    say("Installing HTCondor inside it (about a minute)...")
    _apt_install(runtime, list(PACKAGES), log)
    version = runtime.version()
    (root / READY_MARK).write_text(version + "\n")
    say(f"HTCondor {version} is ready in {root}.")
    return runtime
