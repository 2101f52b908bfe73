"""One local worker: its directory, its files, its process tree."""

from __future__ import annotations

import os
import secrets
import shutil
import signal
from pathlib import Path

from condor_annex import processes
from condor_annex.runtime import Runtime
from condor_annex.secretfiles import write_secret
from condor_annex.tokens import create_token
from condor_annex.workerconfig import WorkerBundle, lease_config, worker_config

# Short intervals: the master evaluates its lease expression at each update, so this
# bounds how late after lease end a local worker notices by itself.
UPDATE_INTERVAL = 3
LOCAL_KEY = "WORKER"
ADDRESS_FILE = "address"


def tag(worker_id: str) -> str:
    return f"worker:{worker_id}"


class LocalWorker:
    """`pid` and `pid_started` identify the running master (None before `start`)."""

    def __init__(
        self,
        workers_dir: Path,
        worker_id: str,
        address: str,
        pid: int | None = None,
        pid_started: float | None = None,
    ) -> None:
        self.id = worker_id
        self.address = address
        self.pid = pid
        self.pid_started = pid_started
        self.dir = workers_dir / worker_id
        self.config = self.dir / "condor_config"

    def reserve(self) -> None:
        """Claim the directory and the address (see `used_addresses`)."""
        self.dir.mkdir(parents=True)
        (self.dir / ADDRESS_FILE).write_text(self.address)

    def write_files(self, runtime: Runtime, bundle: WorkerBundle) -> None:
        uid, gid = runtime.condor_ids()
        for sub in ("log", "spool", "execute", "lock", "run", "cred_dir"):
            (self.dir / sub).mkdir(parents=True, exist_ok=True)
            os.chown(self.dir / sub, uid, gid)
        os.chmod(self.dir / "execute", 0o755)  # noqa: S103 - HTCondor wants EXECUTE 0755
        (self.dir / "passwords.d").mkdir(mode=0o700, exist_ok=True)
        network = f"NETWORK_INTERFACE = {self.address}"
        self.config.write_text(
            worker_config(bundle, self.id, self.dir, network, UPDATE_INTERVAL, family_session=False)
        )
        self.write_lease(bundle)
        # Without family sessions, the master authenticates to its own startd with a token
        # from a key that only this worker has (never the pool's key).
        write_secret(self.dir / "passwords.d" / LOCAL_KEY, secrets.token_urlsafe(48))
        token = create_token(runtime, self.config, f"condor@{bundle.uid_domain}", LOCAL_KEY)
        write_secret(self.dir / "tokens.d" / "local", token)

    def write_lease(self, bundle: WorkerBundle) -> None:
        write_secret(self.dir / "tokens.d" / "annex", bundle.token)
        (self.dir / "lease.config").write_text(lease_config(bundle.lease_end))

    def start(self, runtime: Runtime) -> None:
        env = {"CONDOR_CONFIG": str(self.config), processes.TAG_VARIABLE: tag(self.id)}
        argv = runtime.command(["condor_master", "-f"], env=env, cwd=Path("/"))
        self.pid, self.pid_started = processes.spawn_detached(argv, self.dir / "master.out")

    def alive(self) -> bool:
        return processes.is_alive(self.pid, self.pid_started)

    def was_started(self) -> bool:
        """Whether `start` ever ran for this worker (its master's output file exists)."""
        return (self.dir / "master.out").exists()

    def adopt(self) -> bool:
        """Find the running master of a worker whose pid was never recorded (its starter
        was killed right after starting it); False when none runs."""
        address = self.dir / ADDRESS_FILE
        self.address = address.read_text().strip() if address.is_file() else ""
        running = sorted(processes.tagged(tag(self.id)), key=lambda p: p.create_time())
        if not running:
            return False
        self.pid, self.pid_started = running[0].pid, running[0].create_time()
        return self.alive()

    def reconfigure(self) -> None:
        """SIGHUP is condor_master's reconfig: it rereads lease.config and tells the startd."""
        if self.alive() and self.pid:
            os.kill(self.pid, signal.SIGHUP)

    def kill(self) -> None:
        processes.kill_tagged(tag(self.id))

    def remove(self) -> None:
        """Kill any straggler, then free the directory (and with it the address)."""
        self.kill()
        shutil.rmtree(self.dir, ignore_errors=True)


def used_addresses(workers_dir: Path) -> set[str]:
    """Addresses of every local worker whose directory still exists (any annex, any pool
    sharing this state home): a directory is made before its worker starts and removed
    after it has ended."""
    used = set()
    for path in workers_dir.glob(f"*/{ADDRESS_FILE}"):
        used.add(path.read_text().strip())
    return used
