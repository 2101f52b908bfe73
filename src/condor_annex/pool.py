"""The local seed pool: central manager and submit node on this machine, secured by IDTOKENS.

`LocalPool` starts and stops one condor_master running collector, negotiator and schedd,
mints tokens with the pool's signing key, and builds commands that run HTCondor's own
tools against the pool (for an ordinary user too, by token).
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
import htcondor2

from condor_annex import processes
from condor_annex.errors import AnnexError, UsageError
from condor_annex.poolquery import daemon_names
from condor_annex.runtime import Runtime
from condor_annex.secretfiles import write_secret
from condor_annex.seed import SIGNING_KEY, SeedLayout, configure_seed
from condor_annex.store import Store
from condor_annex.templates import render
from condor_annex.tokens import create_token
from condor_annex.waiting import wait_for

UID_DOMAIN = "condor-annex.local"
ANNEX_DOMAIN = f"annex.{UID_DOMAIN}"
POOL_TAG = "pool"

# What a worker's token may do at the pool, and nothing more.
WORKER_AUTHZ = ("ADVERTISE_STARTD", "ADVERTISE_MASTER", "READ")


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


class LocalPool:
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

    def connect(self) -> None:
        """Point this process's HTCondor bindings at the pool, as its administrator."""
        os.environ["_CONDOR_SEC_TOKEN_DIRECTORY"] = str(self.user_token_dir("root"))
        os.environ["_CONDOR_SEC_CLIENT_AUTHENTICATION_METHODS"] = "IDTOKENS"
        htcondor2.reload_config()

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

    # -- tokens ------------------------------------------------------------------------
    def issue_token(
        self, identity: str, authz: Sequence[str] = (), lifetime: int | None = None
    ) -> str:
        """A token signed with the pool's key; it goes to the caller, never to a log."""
        return create_token(self.runtime, self.config, identity, SIGNING_KEY, authz, lifetime)

    def worker_token(self, annex_name: str, lifetime: int) -> str:
        return self.issue_token(f"{annex_name}@{ANNEX_DOMAIN}", WORKER_AUTHZ, lifetime)

    def user_token_dir(self, user: str) -> Path:
        """A token directory (0700, token 0600) that lets `user` submit and manage jobs."""
        directory = self.users_dir / user
        token = directory / "token"
        if not token.is_file():
            directory.mkdir(parents=True, mode=0o700, exist_ok=True)
            write_secret(token, self.issue_token(f"{user}@{UID_DOMAIN}", lifetime=7 * 86400))
        return directory

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

    # -- running HTCondor's tools ------------------------------------------------------
    def tool_env(self, user: str | None = None) -> dict[str, str]:
        """Environment for a client of this pool: root acts as administrator, others by token."""
        env = {"CONDOR_CONFIG": str(self.config)}
        identity = user or "root"
        env["_CONDOR_SEC_TOKEN_DIRECTORY"] = str(self.user_token_dir(identity))
        env["_CONDOR_SEC_CLIENT_AUTHENTICATION_METHODS"] = "IDTOKENS"
        return env

    def tool(
        self, argv: Sequence[str], user: str | None = None, cwd: Path | None = None
    ) -> list[str]:
        self.require_up()
        if user:
            self.runtime.ensure_user(user)
        return self.runtime.command(list(argv), env=self.tool_env(user), cwd=cwd or Path.cwd())
