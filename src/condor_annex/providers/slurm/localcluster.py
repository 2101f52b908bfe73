"""A real single-node Slurm that condor-annex installs, starts and stops itself, for the
tests and for `annex demo --provider slurm`.

It lives where HTCondor lives: inside the runtime's Debian 13 root (Slurm 24.11 next to
HTCondor 23.9, so a batch job finds `condor_master` on its PATH), or on this machine when
HTCondor is native (the host's own Slurm from apt; untested here). munged, slurmctld and
slurmd run as root-started daemons on localhost (ports 6817 and 6818); jobs run as the
ordinary user who submitted them. The client tools exist only in that root, so every
Slurm command goes through `command()`.

`up()` makes no mounts of its own: linuxproc tracking needs only /proc, and the runtime
mounts /proc, /dev and /tmp itself (and keeps them, for HTCondor). `down()` ends every
daemon and every job process, also one that escaped Slurm's tracking.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import signal
import socket
import string
import subprocess
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import psutil

from condor_annex.errors import AnnexError, UsageError
from condor_annex.providers.slurm import rootprocs
from condor_annex.runtime import Runtime, get_runtime, runtime_dir
from condor_annex.runtime.chroot import ChrootRuntime
from condor_annex.runtime.install import missing_packages
from condor_annex.waiting import wait_for

Say = Callable[[str], None]

PACKAGES = ("slurm-wlm", "munge")
INSTALL_MARK = "/var/lib/condor-annex/slurm-installed"
CONFIG_MARK = "# Written by condor-annex"
CONFIGS = ("slurm.conf", "cgroup.conf")
CTLD_PORT = 6817
SLURMD_PORT = 6818
KILL_WAIT = 30
MIN_JOB_AGE = 3600
SHORT_MAX_MINUTES = 10
UP_TIMEOUT = 30.0
STOP_TIMEOUT = 20.0
# scancel sends SIGTERM, then SIGKILL KillWait later; a job leaves squeue's list after that.
CANCEL_TIMEOUT = KILL_WAIT + 30.0
# sinfo's compact state of a node that takes jobs ("idle*" would be one not responding).
READY_STATES = ("idle", "mix", "alloc")
MUNGE_SOCKET = "/run/munge/munge.socket.2"


RESERVED_PORTS = Path("/proc/sys/net/ipv4/ip_local_reserved_ports")


def reserve_ports(ports: Sequence[int]) -> None:
    """Keep Slurm's ports out of the kernel's ephemeral range: where that range starts low
    (1024 here), any outgoing connection may take 6818 as its own port, and slurmd then
    cannot listen on it ("Address already in use"). Best effort without the right to."""
    try:
        current = RESERVED_PORTS.read_text().strip()
        if not set(ports) <= port_numbers(current):
            RESERVED_PORTS.write_text(",".join(filter(None, [current, *map(str, ports)])))
    except OSError:
        pass


def port_numbers(listing: str) -> set[int]:
    """The ports of a kernel port list such as "22,6817-6818" (it writes ranges back)."""
    ports: set[int] = set()
    for part in filter(None, listing.split(",")):
        low, _, high = part.partition("-")
        ports.update(range(int(low), int(high or low) + 1))
    return ports


@dataclass(frozen=True)
class Daemon:
    name: str  # the binary's name and its /proc/PID/comm
    argv: tuple[str, ...]
    pidfile: str  # paths inside the root
    log: str
    user: str | None = None  # None: started as root


# In start order; stopped in reverse. slurmctld and slurmd start as root and drop what
# they do not need themselves (slurmctld runs as SlurmUser, slurmd stays root to run jobs).
DAEMONS = (
    Daemon(
        "munged",
        ("/usr/sbin/munged",),
        "/run/munge/munged.pid",
        "/var/log/munge/munged.log",
        user="munge",
    ),
    Daemon(
        "slurmctld",
        ("/usr/sbin/slurmctld", "-i"),
        "/run/slurmctld.pid",
        "/var/log/slurm/slurmctld.log",
    ),
    Daemon(
        "slurmd",
        ("/usr/sbin/slurmd", "-N", "localhost"),
        "/run/slurmd.pid",
        "/var/log/slurm/slurmd.log",
    ),
)
MUNGED, SLURMCTLD, SLURMD = DAEMONS


@dataclass(frozen=True)
class Stopped:
    """What `down()` did."""

    jobs_cancelled: int
    daemons_stopped: int
    leftovers_killed: int


@dataclass(frozen=True)
class ClusterStatus:
    daemons: dict[str, int | None]  # name -> pid, None when not running
    node: str  # sinfo's compact node state; "" when the controller does not answer
    partitions: tuple[str, ...]  # "debug* (no limit)", "short (10:00)"

    @property
    def up(self) -> bool:
        return all(self.daemons.values()) and self.node in READY_STATES

    def line(self) -> str:
        pids = ", ".join(f"{n} {p}" if p else f"{n} not running" for n, p in self.daemons.items())
        if not any(self.daemons.values()):
            return "Slurm is down."
        where = f"node localhost {self.node or 'not answering'}"
        return f"Slurm is {'up' if self.up else 'not ready'}: {pids}; {where}; " + (
            f"partitions {', '.join(self.partitions)}" if self.partitions else "no partitions"
        )


def _template(name: str) -> str:
    return (resources.files("condor_annex.providers.slurm") / "templates" / name).read_text()


def _render(name: str, **values: object) -> str:
    # $name placeholders (string.Template): Slurm's files use no `$` of their own.
    return string.Template(_template(name)).substitute(values)


def _listening(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(1)
        return probe.connect_ex(("127.0.0.1", port)) == 0


class LocalSlurm:
    def __init__(
        self, runtime: Runtime | None = None, *, cpus: int = 16, memory_mb: int = 16000
    ) -> None:
        if cpus < 1 or memory_mb < 1:
            raise UsageError("a local Slurm node needs at least 1 CPU and 1 MB of memory")
        self.runtime = runtime or get_runtime()
        # Where Slurm's files and processes are: the chroot, or this machine.
        self.root = self.runtime.root if isinstance(self.runtime, ChrootRuntime) else Path("/")
        self.cpus = cpus
        self.memory_mb = memory_mb

    def path(self, inside: str) -> Path:
        """The host path of a path inside the root."""
        return self.root / inside.lstrip("/")

    # -- running Slurm's tools ---------------------------------------------------------------
    def command(
        self,
        argv: Sequence[str],
        user: str | None = None,
        *,
        cwd: str | None = None,
        env: Mapping[str, str] | None = None,
    ) -> list[str]:
        """argv that runs a Slurm tool in the root, as root or as `user` (an account in the
        root; see add_user). `cwd` is a path inside the root: the user's home by default.
        The environment is clean (PATH finds Slurm and HTCondor); sbatch passes it on to jobs.
        """
        extra = dict(env or {})
        prefix: list[str] = []
        workdir = cwd or "/"
        if user is not None:
            uid, gid, home = self._account(user)
            extra = {"HOME": home, "USER": user, "LOGNAME": user, **extra}
            if cwd is None and self.path(home).is_dir():
                workdir = home
            prefix = ["setpriv", f"--reuid={uid}", f"--regid={gid}", "--init-groups", "--"]
        # The directory is changed inside, so the runtime never bind-mounts a host one for it.
        inner = [*prefix, "env", "-C", workdir, *argv]
        return self.runtime.command(inner, env=extra, cwd=Path("/"))

    def add_user(self, name: str) -> tuple[int, int]:
        """Make sure an ordinary account exists in the root (the host's uid if the host has
        one of that name, so files agree inside and out); returns (uid, gid)."""
        return self.runtime.ensure_user(name)

    def _account(self, user: str) -> tuple[int, int, str]:
        for line in self.path("/etc/passwd").read_text().splitlines():
            fields = line.split(":")
            if len(fields) >= 6 and fields[0] == user:
                return int(fields[2]), int(fields[3]), fields[5]
        raise UsageError(f"no account {user!r} in {self.path('/etc/passwd')}; add it first")

    def _run(
        self, argv: Sequence[str], user: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            self.command(argv, user), capture_output=True, text=True, check=False, timeout=60
        )

    # -- install -----------------------------------------------------------------------------
    def is_installed(self) -> bool:
        marker = self.path(INSTALL_MARK)
        return (
            not missing_packages(self.root, PACKAGES)
            and marker.is_file()
            and marker.read_text().strip() == self._install_digest()
        )

    def _install_digest(self) -> str:
        return hashlib.sha256(_template("install.sh").encode()).hexdigest()

    def install(self, say: Say | None = None) -> bool:
        """Install Slurm and munge with apt where HTCondor is (idempotent: a dpkg and marker
        check when done). Returns whether anything was installed."""
        if self.is_installed():
            return False
        if os.geteuid() != 0:
            raise UsageError("installing Slurm needs root (run as root or via sudo)")
        where = f"into the HTCondor runtime at {self.root}" if self.root != Path("/") else "here"
        if say:
            say(f"Installing Slurm and munge {where} (about half a minute)...")
        log = runtime_dir() / "slurm-install.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        with log.open("a") as out:
            argv = self.command(["sh", "-c", _template("install.sh"), "install-slurm"])
            rc = subprocess.run(argv, stdout=out, stderr=subprocess.STDOUT, check=False).returncode
        if rc != 0:
            raise AnnexError(f"installing Slurm failed (exit {rc}); see {log}")
        marker = self.path(INSTALL_MARK)
        marker.parent.mkdir(parents=True, exist_ok=True)
        marker.write_text(self._install_digest() + "\n")
        return True

    # -- state -------------------------------------------------------------------------------
    def _pid(self, daemon: Daemon) -> int | None:
        return rootprocs.pid_from_file(self.path(daemon.pidfile), daemon.name, self.root)

    def node_state(self) -> str:
        # One line per partition the node is in, all with the node's one state.
        done = self._run(["sinfo", "-h", "-N", "-n", "localhost", "-o", "%t"])
        lines = done.stdout.split() if done.returncode == 0 else []
        return lines[0] if lines else ""

    def is_up(self) -> bool:
        return all(self._pid(d) for d in DAEMONS) and self.node_state() in READY_STATES

    def status(self) -> ClusterStatus:
        daemons = {d.name: self._pid(d) for d in DAEMONS}
        if not daemons[SLURMCTLD.name]:
            return ClusterStatus(daemons, "", ())
        parts = self._run(["sinfo", "-h", "-o", "%P|%l"]).stdout.split()
        partitions = tuple(
            f"{name} ({'no limit' if limit == 'infinite' else limit})"
            for name, _, limit in (p.partition("|") for p in parts)
        )
        return ClusterStatus(daemons, self.node_state(), partitions)

    def leftovers(self) -> list[psutil.Process]:
        """Every Slurm daemon and job process still running in the root."""
        return rootprocs.cluster_processes(self.root)

    def active_jobs(self) -> list[str]:
        """Ids of the jobs (every user's) that are not finished: pending, running, ending."""
        done = self._run(["squeue", "-h", "-o", "%A"])
        return done.stdout.split() if done.returncode == 0 else []

    # -- up ----------------------------------------------------------------------------------
    def _configs(self) -> dict[Path, str]:
        values = {
            "slurm.conf": {
                "ctld_port": CTLD_PORT,
                "slurmd_port": SLURMD_PORT,
                "kill_wait": KILL_WAIT,
                "min_job_age": MIN_JOB_AGE,
                "cpus": self.cpus,
                "memory_mb": self.memory_mb,
                "short_max_minutes": SHORT_MAX_MINUTES,
            },
            "cgroup.conf": {"cgroup_plugin": self._cgroup_plugin()},
        }
        return {self.path(f"/etc/slurm/{n}"): _render(n, **values[n]) for n in CONFIGS}

    def _cgroup_plugin(self) -> str:
        # "disabled" exists from Slurm 24.05 on (Debian 13 has 24.11); older ones need a
        # cgroup filesystem, which a host has.
        out = self._run(["slurmd", "-V"]).stdout.split()
        try:
            major, minor = (int(x) for x in out[-1].split(".")[:2])
        except (IndexError, ValueError):
            raise AnnexError(f"cannot tell Slurm's version from 'slurmd -V': {out}") from None
        return "disabled" if (major, minor) >= (24, 5) else "autodetect"

    def _check_configs_ours(self, configs: Mapping[Path, str]) -> None:
        for path, text in configs.items():
            if path.exists():
                current = path.read_text()
                if current != text and not current.startswith(CONFIG_MARK):
                    raise UsageError(f"{path} was not written by condor-annex; move it away first")

    def _configs_current(self, configs: Mapping[Path, str]) -> bool:
        return all(p.is_file() and p.read_text() == t for p, t in configs.items())

    def up(self, timeout: float = UP_TIMEOUT) -> bool:
        """Start munged, slurmctld and slurmd and wait until the node takes jobs.

        Returns False if it was already up (with this configuration). A half-running
        cluster is stopped and started afresh; a failed start leaves nothing running.
        """
        if not self.is_installed():
            raise UsageError("Slurm is not installed here; run 'annex slurm install' first")
        if os.geteuid() != 0:
            raise UsageError("starting Slurm needs root (run as root or via sudo)")
        configs = self._configs()
        self._check_configs_ours(configs)
        running = [d for d in DAEMONS if self._pid(d)]
        if len(running) == len(DAEMONS):
            if not self._configs_current(configs):
                raise UsageError(
                    "Slurm is up with another configuration; run 'annex slurm down' first"
                )
            self._wait_ready(timeout)
            return False
        if running:
            self.down()
        self._check_ports()
        for path, text in configs.items():
            path.write_text(text)
        self._make_run_dirs()
        try:
            for daemon in DAEMONS:
                self._start(daemon)
                self._wait_started(daemon, timeout)
            self._wait_ready(timeout)
        except BaseException:
            self.down()
            raise
        return True

    def _check_ports(self) -> None:
        reserve_ports((CTLD_PORT, SLURMD_PORT))
        for port in (CTLD_PORT, SLURMD_PORT):
            if _listening(port):
                raise UsageError(
                    f"port {port} is already taken here (another Slurm?); stop that first"
                )

    def _make_run_dirs(self) -> None:
        # /run is a fresh tmpfs after a reboot on a real machine; the spool dirs come with
        # the install, but a hand-cleaned root may lack them.
        uid, gid, _home = self._account("munge")
        munge_run = self.path("/run/munge")
        munge_run.mkdir(parents=True, exist_ok=True)
        os.chown(munge_run, uid, gid)
        for spool in ("/var/spool/slurmd", "/var/spool/slurmctld"):
            self.path(spool).mkdir(parents=True, exist_ok=True)

    def _start(self, daemon: Daemon) -> None:
        # The daemons fork into the background and close their output; the exit code says
        # whether they got that far.
        done = subprocess.run(
            self.command(daemon.argv, daemon.user),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            check=False,
            timeout=60,
        )
        if done.returncode != 0:
            why = (done.stderr.strip().splitlines() or ["no message"])[-1]
            raise AnnexError(f"{daemon.name} did not start ({why}); see {self.path(daemon.log)}")

    def _wait_started(self, daemon: Daemon, timeout: float) -> None:
        # slurmctld and slurmd authenticate through munged at once; and a client that finds
        # slurmctld not listening yet retries only a second later.
        if daemon is MUNGED:
            ready, what = self.path(MUNGE_SOCKET).exists, f"open {MUNGE_SOCKET}"
        elif daemon is SLURMCTLD:
            ready, what = (lambda: _listening(CTLD_PORT)), f"listen on port {CTLD_PORT}"
        else:
            return
        try:
            wait_for(ready, timeout, what, 0.02)
        except TimeoutError:
            raise AnnexError(f"{daemon.name} did not {what}; see {self.path(daemon.log)}") from None

    def _wait_ready(self, timeout: float) -> None:
        try:
            wait_for(lambda: self.node_state() in READY_STATES, timeout, "the node", 0.1)
        except TimeoutError:
            dead = [d for d in DAEMONS if not self._pid(d)]
            log = self.path((dead[0] if dead else SLURMD).log)
            state = self.node_state() or "no answer from slurmctld"
            raise AnnexError(
                f"Slurm's node did not become idle in {timeout:.0f}s ({state}); see {log}"
            ) from None

    # -- down --------------------------------------------------------------------------------
    def down(self) -> Stopped:
        """Cancel every job, stop the daemons, and kill whatever is left of either (bounded).

        Leaves no Slurm, munge or job process in the root; raises if one survives SIGKILL.
        """
        cancelled = self._cancel_jobs() if self._pid(SLURMCTLD) else 0
        stopped = 0
        for daemon in reversed(DAEMONS):
            pid = self._pid(daemon)
            if pid is None:
                continue
            stopped += 1
            with contextlib.suppress(psutil.NoSuchProcess):
                proc = psutil.Process(pid)
                rootprocs.kill(rootprocs.end([proc], signal.SIGTERM, STOP_TIMEOUT))
        leftovers = self.leftovers()
        rootprocs.kill(leftovers)
        for daemon in DAEMONS:  # slurmctld cannot remove its own (it runs as SlurmUser)
            self.path(daemon.pidfile).unlink(missing_ok=True)
        return Stopped(cancelled, stopped, len(leftovers))

    def _cancel_jobs(self) -> int:
        jobs = self.active_jobs()
        if jobs:
            self._run(["scancel", *jobs])
            # Whatever outlives this is killed with the daemons' leftovers.
            with contextlib.suppress(TimeoutError):
                wait_for(lambda: not self.active_jobs(), CANCEL_TIMEOUT, "cancelled jobs", 0.2)
        return len(jobs)


@contextlib.contextmanager
def running(say: Say) -> Iterator[None]:
    """The local cluster for the length of the block: installed and brought up if it is not
    up already, and then taken down again (only if it was brought up here)."""
    cluster = LocalSlurm()
    cluster.install(say)
    started = cluster.up()
    if started:
        say("Started a local Slurm for this run (munged, slurmctld, slurmd).")
    try:
        yield
    finally:
        if started:
            cluster.down()
            say("Stopped the local Slurm again.")
