"""The local seed pool: central manager and submit node on this machine, secured by IDTOKENS.

`LocalPool` starts and stops one condor_master running collector, negotiator and schedd
on 127.0.0.1; tokens and HTCondor's own tools against it come from `PoolAccess`.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import classad2

from condor_annex import processes
from condor_annex.errors import AnnexError, UsageError
from condor_annex.poolaccess import PoolAccess
from condor_annex.poolquery import daemon_names
from condor_annex.runtime import Runtime
from condor_annex.secretfiles import write_secret
from condor_annex.seed import SeedLayout, configure_seed
from condor_annex.store import Store
from condor_annex.templates import render
from condor_annex.waiting import wait_for

UID_DOMAIN = "condor-annex.local"
ANNEX_DOMAIN = f"annex.{UID_DOMAIN}"
POOL_TAG = "pool"


@dataclass
class PoolInfo:
    port: int
    pid: int
    pid_started: float
    created_at: float
    runtime: str

    @property
    def collector(self) -> str:
        return f"127.0.0.1:{self.port}"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class LocalPool(PoolAccess):
    managed = True
    uid_domain = UID_DOMAIN
    annex_domain = ANNEX_DOMAIN

    def __init__(self, store: Store, runtime: Runtime) -> None:
        self.store = store
        self.runtime = runtime
        self.dir = store.pool_dir
        self.config = self.dir / "condor_config"
        self.local_dir = self.dir / "local"
        self.secrets_dir = self.dir / "secrets"
        self.users_dir = self.dir / "users"
        self.info_path = self.dir / "pool.json"
        self.seed_layout = SeedLayout(
            config_dir=self.dir / "config.d",
            password_dir=self.secrets_dir / "passwords.d",
            token_dir=self.secrets_dir / "tokens.d",
            hook_dir=self.dir,
            annex_domain=ANNEX_DOMAIN,
        )

    # -- state -------------------------------------------------------------------------
    def info(self) -> PoolInfo | None:
        if not self.info_path.is_file():
            return None
        return PoolInfo(**json.loads(self.info_path.read_text()))

    def is_up(self) -> bool:
        info = self.info()
        return info is not None and processes.is_alive(info.pid, info.pid_started)

    def require_up(self) -> PoolInfo:
        info = self.info()
        if info is None or not processes.is_alive(info.pid, info.pid_started):
            raise UsageError("no local pool is up; run 'annex pool up' first")
        return info

    @property
    def tag(self) -> str:
        return f"{POOL_TAG}:{self.store.home}"

    # -- up / down ---------------------------------------------------------------------
    def up(
        self, port: int = 0, say: Callable[[str], None] = print, timeout: float = 90
    ) -> PoolInfo:
        if self.is_up():
            info = self.info()
            assert info is not None
            raise UsageError(
                f"a pool is already up at {info.collector} (state in {self.dir}); "
                "run 'annex pool down' first"
            )
        if self.dir.exists():  # the remains of a pool whose master died: start clean
            self._remove_state()
        self.store.ensure_layout()
        self.runtime.share(self.store.home)
        port = port or free_port()
        self._write_files(port)
        env = {"CONDOR_CONFIG": str(self.config), processes.TAG_VARIABLE: self.tag}
        argv = self.runtime.command(["condor_master", "-f"], env=env, cwd=Path("/"))
        pid, started = processes.spawn_detached(argv, self.dir / "master.out")
        info = PoolInfo(port, pid, started, time.time(), self.runtime.kind)
        self.info_path.write_text(json.dumps(asdict(info)))
        self.connect()
        say(f"Starting a pool (collector, negotiator, schedd) at {info.collector}...")
        try:
            wait_for(
                lambda: self._daemons_ready(info),
                timeout,
                "the pool's schedd to advertise",
                interval=0.5,
            )
        except TimeoutError:
            self.down()
            raise AnnexError(
                f"the pool did not come up in {timeout:.0f}s; see {self.local_dir / 'log'}"
            ) from None
        return info

    def _daemons_ready(self, info: PoolInfo) -> bool:
        if not processes.is_alive(info.pid, info.pid_started):
            raise AnnexError(f"the pool's condor_master exited; see {self.dir / 'master.out'}")
        names = daemon_names(info.collector)
        return {"Scheduler", "Negotiator"} <= names

    def down(self, grace: float = 15) -> None:
        """Stop the pool's daemons and remove every file of its state (and its annexes')."""
        info = self.info()
        if info is not None:
            processes.stop_tree(info.pid, info.pid_started, self.tag, grace)
        processes.kill_tagged(self.tag)
        self._remove_state()

    def _remove_state(self) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)

    def _write_files(self, port: int) -> None:
        uid, gid = self.runtime.condor_ids()
        for sub in ("log", "spool", "execute", "lock", "run", "cred_dir"):
            path = self.local_dir / sub
            path.mkdir(parents=True, exist_ok=True)
            os.chown(path, uid, gid)
        os.chmod(self.local_dir / "execute", 0o755)  # noqa: S103 - HTCondor wants 0755
        self.secrets_dir.mkdir(mode=0o700, exist_ok=True)
        os.chmod(self.secrets_dir, 0o700)
        configure_seed(self.seed_layout)  # the same seed role `annex seed configure` writes
        self.config.write_text(
            render(
                "seed-local.config",
                local_dir=self.local_dir,
                port=port,
                uid_domain=UID_DOMAIN,
                config_dir=self.seed_layout.config_dir,
            )
        )
        token = self.issue_token(f"condor@{UID_DOMAIN}")
        write_secret(self.secrets_dir / "tokens.d" / "condor", token)

    def withdraw_ads(self, instance_ids: Sequence[str]) -> None:
        """Remove killed workers' startd and master ads from the collector at once.

        A worker ended by SIGKILL cannot withdraw its own ads; without this its slots
        would linger for CLASSAD_LIFETIME (15 minutes). Acts as the pool's condor@.
        """
        if not instance_ids or not self.is_up():
            return
        quoted = " || ".join(f"AnnexInstanceID =?= {classad2.quote(i)}" for i in instance_ids)
        env = {
            "CONDOR_CONFIG": str(self.config),
            "_CONDOR_SEC_TOKEN_DIRECTORY": str(self.secrets_dir / "tokens.d"),
            "_CONDOR_SEC_CLIENT_AUTHENTICATION_METHODS": "IDTOKENS",
        }
        for command, target in (
            ("INVALIDATE_STARTD_ADS", "Machine"),
            ("INVALIDATE_MASTER_ADS", "DaemonMaster"),
        ):
            query = self.dir / f".{command.lower()}.ad"
            query.write_text(
                f'MyType = "Query"\nTargetType = "{target}"\nRequirements = {quoted}\n'
            )
            subprocess.run(
                self.runtime.command(
                    ["condor_advertise", command, str(query)], env=env, cwd=Path("/")
                ),
                capture_output=True,
                check=False,
            )
