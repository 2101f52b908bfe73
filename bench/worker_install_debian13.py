"""The worker image's install script, run for real in a fresh Debian 13 (trixie) root.

Why: `annex image build --role worker` runs install-worker.sh on a builder instance that
no test can start; this shows the same script turns a fresh Debian 13 into a working
annex worker. The root is made the way the project makes its HTCondor runtime
(runtime/install.py: debootstrap --variant=minbase with the host's own apt mirror), then

1. install-worker.sh (with the git extra) runs inside it with chroot. The official
   HTCondor repository cannot be reached from here, so the script must fall back to
   Debian's own `condor` package and say so;
2. checks: condor_version; condor_config_val of the worker settings; the tools the boot
   script needs (curl, iptables, the AWS CLI or python3-boto3); the extra;
3. condor_master starts with that configuration and starts the startd (bounded wait);
   it is then stopped (by pid; only processes whose root is this root);
4. the image's secret scan runs before and after its scrub: a fresh install already
   holds keys (OpenSSH's host keys, which Debian's condor pulls in); after, nothing.

Prints a summary with timings; the root is always removed. Needs root and the network
to the Debian mirror (downloads about 150 MB). Takes a few minutes.

    .venv/bin/python bench/worker_install_debian13.py [--keep-log LOG]

Exit status 0 when every check passed, 1 otherwise.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from condor_annex.providers.aws.images.imagescript import COMMON, ROLE_SCRIPTS, script_text
from condor_annex.runtime import install, mounts
from condor_annex.runtime.base import SYSTEM_PATH
from condor_annex.waiting import wait_for

SCRIPTS_INSIDE = Path("/run/condor-annex-image")  # like the builder: not scanned, not imaged
EXTRAS = "git"
WORKER_SETTINGS = {
    "DAEMON_LIST": "MASTER STARTD",  # compared without commas
    "CondorAnnexImageRole": '"worker"',
    "SEC_DEFAULT_AUTHENTICATION": "REQUIRED",
    "SEC_DEFAULT_ENCRYPTION": "REQUIRED",
    "SEC_DEFAULT_INTEGRITY": "REQUIRED",
    "SEC_CLIENT_AUTHENTICATION_METHODS": "IDTOKENS",
}
FALLBACK_NOTE = "falling back to the distribution's own condor package"


class Bench:
    def __init__(self, root: Path, log: Path) -> None:
        self.root = root
        self.log = log
        self.timings: list[tuple[str, float]] = []
        self.checks: list[tuple[str, bool, str]] = []

    @contextmanager
    def timed(self, what: str) -> Iterator[None]:
        start = time.monotonic()
        try:
            yield
        finally:
            self.timings.append((what, time.monotonic() - start))

    def check(self, what: str, ok: bool, detail: str = "") -> None:
        self.checks.append((what, ok, detail))
        print(f"  {'ok  ' if ok else 'FAIL'} {what}{f': {detail}' if detail else ''}", flush=True)

    def inside(self, *argv: str, env: dict[str, str] | None = None) -> list[str]:
        assignments = [f"{k}={v}" for k, v in (env or {}).items()]
        return [
            "chroot", str(self.root), "/usr/bin/env", "-i", f"PATH={SYSTEM_PATH}",
            "HOME=/root", "LANG=C.UTF-8", *assignments, *argv,
        ]  # fmt: skip

    def run(self, *argv: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
        proc = subprocess.run(
            self.inside(*argv, env=env), capture_output=True, text=True, check=False
        )
        with self.log.open("a") as out:
            out.write(f"$ {' '.join(argv)}  (exit {proc.returncode})\n{proc.stdout}{proc.stderr}")
        return proc

    # -- the steps ---------------------------------------------------------------------------
    def debootstrap(self) -> None:
        mirror = install.debian_mirror()
        print(f"debootstrap {install.SUITE} (minbase) from {mirror} into {self.root}", flush=True)
        install._ensure_debootstrap(print, self.log)
        install._run(
            ["debootstrap", "--variant=minbase", install.SUITE, str(self.root), mirror],
            self.log,
        )
        # A chroot has no init: packages must not try to start services.
        policy = self.root / "usr/sbin/policy-rc.d"
        policy.write_text("#!/bin/sh\nexit 101\n")
        policy.chmod(0o755)
        mounts.mount_proc(self.root / "proc")
        mounts.bind(Path("/dev"), self.root / "dev")
        for name in ("hosts", "resolv.conf"):
            shutil.copyfile(Path("/etc") / name, self.root / "etc" / name)

    def install_worker(self) -> str:
        target = self.root / SCRIPTS_INSIDE.relative_to("/")
        target.mkdir(parents=True, exist_ok=True)
        for name in (COMMON, ROLE_SCRIPTS["worker"]):
            (target / name).write_text(script_text(name))
        print(f"running install-worker.sh --extras {EXTRAS} inside the root", flush=True)
        proc = self.run("bash", str(SCRIPTS_INSIDE / ROLE_SCRIPTS["worker"]), "--extras", EXTRAS)
        output = proc.stdout + proc.stderr
        for line in output.splitlines():
            if line.startswith("condor-annex-image:"):
                print(f"    {line}", flush=True)
        self.check("install-worker.sh exits 0", proc.returncode == 0, f"exit {proc.returncode}")
        return output

    def check_result(self, output: str) -> None:
        self.check("it fell back to Debian's condor and said so", FALLBACK_NOTE in output)
        version = self.run("condor_version")
        first = version.stdout.splitlines()[0] if version.stdout else version.stderr.strip()
        self.check("condor_version", version.returncode == 0, first)
        for name, want in WORKER_SETTINGS.items():
            got = self.run("condor_config_val", name).stdout.strip()
            same = got.replace(",", " ").split() == want.split()
            self.check(f"condor_config_val {name}", same, got)
        info = (self.root / "etc/condor-annex/image").read_text()
        self.check("image note says distribution packages", "htcondor_source=distribution" in info)
        tools = {
            "curl": ["curl", "--version"],
            "iptables": ["iptables", "--version"],
            "aws CLI": ["aws", "--version"],
            "python3 boto3": ["python3", "-c", "import boto3"],
            f"extra {EXTRAS}": ["git", "--version"],
        }
        for what, argv in tools.items():
            proc = self.run(*argv)
            first = (proc.stdout or proc.stderr).strip().splitlines()[:1]
            self.check(what, proc.returncode == 0, first[0] if first else "")
        enabled = list((self.root / "etc/systemd/system").glob("*.wants/condor.service"))
        self.check("condor.service disabled (the boot script starts HTCondor)", not enabled)

    def processes(self) -> dict[int, str]:
        """pid -> command name of every process whose root is this root."""
        found = {}
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                if Path(os.readlink(entry / "root")) == self.root:
                    found[int(entry.name)] = (entry / "comm").read_text().strip()
            except OSError:
                continue  # gone, or not ours to read
        return found

    def start_master(self) -> None:
        """condor_master with the image's configuration, until its startd runs."""
        proc = self.run("condor_master")
        self.check("condor_master starts", proc.returncode == 0, f"exit {proc.returncode}")
        try:
            wait_for(
                lambda: "condor_startd" in self.processes().values(),
                60,
                "the master to start the startd",
            )
            self.check("the master starts the startd", True)
        except TimeoutError as err:
            self.check("the master starts the startd", False, str(err))

    def stop_condor(self) -> None:
        for pid, name in self.processes().items():
            if name == "condor_master":
                os.kill(pid, signal.SIGQUIT)  # HTCondor's fast shutdown
        try:
            wait_for(lambda: not self.processes(), 30, "HTCondor in the root to exit")
        except TimeoutError:
            for pid in self.processes():
                os.kill(pid, signal.SIGKILL)
            wait_for(lambda: not self.processes(), 10, "killed processes to go")

    def scan(self, scrub_first: bool) -> list[str]:
        common = SCRIPTS_INSIDE / COMMON
        steps = f". {common}; detect_os >/dev/null; {'scrub >/dev/null; ' if scrub_first else ''}"
        proc = self.run("bash", "-c", steps + "secret_scan")
        return [line for line in proc.stdout.splitlines() if line.strip()]

    def clean_up(self) -> None:
        if self.processes():
            self.stop_condor()
        mounts.unmount_all_below(self.root)
        shutil.rmtree(self.root)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep-log", type=Path, help="Copy the full install log here.")
    args = parser.parse_args()
    if os.geteuid() != 0:
        print("needs root (debootstrap and chroot)", file=sys.stderr)
        return 1
    work = Path(tempfile.mkdtemp(prefix="worker-install-", dir="/var/tmp"))
    bench = Bench(work / "trixie", work.with_suffix(".log"))
    started = time.monotonic()
    before: list[str] = []
    after: list[str] = []
    try:
        with bench.timed("debootstrap (minbase)"):
            bench.debootstrap()
        with bench.timed("install-worker.sh"):
            output = bench.install_worker()
        print("checks:", flush=True)
        bench.check_result(output)
        with bench.timed("condor_master until startd"):
            bench.start_master()
        bench.stop_condor()
        with bench.timed("secret scan (as installed)"):
            before = bench.scan(scrub_first=False)
        with bench.timed("scrub + secret scan"):
            after = bench.scan(scrub_first=True)
        bench.check("the scan finds the keys a fresh install has", bool(before), f"{len(before)}")
        bench.check("after the scrub the scan finds nothing", not after, "; ".join(after))
    finally:
        if args.keep_log and bench.log.exists():
            shutil.copyfile(bench.log, args.keep_log)
        with bench.timed("removing the root"):
            bench.clean_up()
        bench.log.unlink(missing_ok=True)
        work.rmdir()

    print("\nsecret scan of the fresh install, before the scrub:")
    for line in before:
        print(f"  {line}")
    print("\ntimings:")
    for what, seconds in bench.timings:
        print(f"  {what:<28} {seconds:7.1f} s")
    print(f"  {'total':<28} {time.monotonic() - started:7.1f} s")
    failed = [c for c in bench.checks if not c[1]]
    print(f"\n{len(bench.checks) - len(failed)} of {len(bench.checks)} checks passed")
    print(f"load average at end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
