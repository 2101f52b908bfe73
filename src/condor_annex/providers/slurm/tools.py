"""Where Slurm's commands run: on this machine (the local cluster that `annex slurm up`
runs, inside the HTCondor runtime's root) or on a cluster's login host over ssh, with the
user's own ssh configuration, as `htcondor annex` does. Both run argv lists and write
files; nothing here knows what the commands mean."""

from __future__ import annotations

import shlex
import subprocess
from collections.abc import Sequence
from pathlib import Path, PurePosixPath
from typing import Protocol

from condor_annex.errors import AnnexError, UsageError
from condor_annex.providers.slurm.localcluster import LocalSlurm
from condor_annex.secretfiles import write_secret

TIMEOUT = 60
SSH = ("ssh", "-o", "BatchMode=yes", "-o", "ConnectTimeout=10")


class Tools(Protocol):
    where: str  # for messages: "this machine" or the login host

    def run(
        self, argv: Sequence[str], stdin: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        """Run argv where Slurm is; never raises for a non-zero exit."""
        ...

    def write(self, path: PurePosixPath, text: str, mode: int = 0o600) -> None:
        """A file for the pilots, made with `mode` (0600: readable by its owner only)."""
        ...


def _run(argv: Sequence[str], stdin: str | None) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(
            list(argv), input=stdin, capture_output=True, text=True, check=False, timeout=TIMEOUT
        )
    except subprocess.TimeoutExpired:
        raise AnnexError(f"{argv[0]} did not answer in {TIMEOUT}s") from None


class LocalTools:
    """The local cluster: its client tools exist only inside the runtime's root."""

    where = "this machine"

    def __init__(self, cluster: LocalSlurm, base: Path) -> None:
        self.cluster = cluster
        self.base = base  # the state home: folders below it are made traversable

    def run(
        self, argv: Sequence[str], stdin: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        return _run(self.cluster.command(list(argv)), stdin)

    def write(self, path: PurePosixPath, text: str, mode: int = 0o600) -> None:
        """Files go under the state home, which the root sees at the same path. Folders
        are 0755 (HTCondor's daemons, run as root, drop to `condor` to reach their own
        directories); every file is made 0600 from the start."""
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        for folder in [target.parent, *target.parent.parents]:
            if folder == self.base or self.base not in folder.parents:
                break
            folder.chmod(0o755)
        write_secret(target, text)
        target.chmod(mode)


class SshTools:
    """A login host, reached with `ssh HOST` and the user's own ssh configuration."""

    def __init__(self, host: str) -> None:
        self.host = host
        self.where = host

    def run(
        self, argv: Sequence[str], stdin: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        return _run([*SSH, self.host, "--", shlex.join(argv)], stdin)

    def check(self) -> None:
        proc = self.run(["true"])
        if proc.returncode != 0:
            last = (proc.stderr.strip().splitlines() or ["no answer"])[-1]
            raise UsageError(
                f"cannot reach the login host {self.host} with ssh ({last}); check --login "
                "and that 'ssh HOST true' works without a password"
            )

    def write(self, path: PurePosixPath, text: str, mode: int = 0o600) -> None:
        script = (
            f"umask 077 && mkdir -p {shlex.quote(str(path.parent))} && "
            f"cat > {shlex.quote(str(path))} && chmod {mode:o} {shlex.quote(str(path))}"
        )
        proc = self.run(["sh", "-c", script], stdin=text)
        if proc.returncode != 0:
            raise AnnexError(f"cannot write {path} on {self.host}: {proc.stderr.strip()[:200]}")

    def home(self) -> PurePosixPath:
        proc = self.run(["sh", "-c", 'printf %s "$HOME"'])
        if proc.returncode != 0 or not proc.stdout.startswith("/"):
            raise AnnexError(f"cannot find the home directory on {self.host}")
        return PurePosixPath(proc.stdout)
