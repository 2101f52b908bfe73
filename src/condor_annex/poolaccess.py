"""How the tool acts on a pool it can sign tokens for: tokens, HTCondor's tools, queries.

Two pools share this: the local pool the tool runs itself (`pool.LocalPool`) and this
machine's own HTCondor once `annex seed configure` made it a seed (`systempool.SystemPool`).
Everything goes through the runtime's own programs (condor_token_create, condor_q, ...)
with the pool's config, so the host's bindings never need to read that config; they
query the collector by address, authenticated by a token this class issues.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Sequence
from functools import cached_property
from pathlib import Path
from typing import Protocol

import htcondor2

from condor_annex import seed
from condor_annex.errors import AnnexError
from condor_annex.runtime import Runtime
from condor_annex.secretfiles import write_secret
from condor_annex.seed import SIGNING_KEY
from condor_annex.tokens import create_token

# What a worker's token may do at the pool, and nothing more.
WORKER_AUTHZ = ("ADVERTISE_STARTD", "ADVERTISE_MASTER", "READ")
USER_TOKEN_LIFETIME = 7 * 86400
ADMIN = "root"  # whose token the tool itself uses: the pool's administrator


def config_value(runtime: Runtime, config: Path, name: str) -> str:
    """One value of a pool's config, read by the runtime's condor_config_val ("" if unset)."""
    proc = subprocess.run(
        runtime.command(
            ["condor_config_val", name], env={"CONDOR_CONFIG": str(config)}, cwd=Path("/")
        ),
        capture_output=True,
        text=True,
        check=False,
    )
    return proc.stdout.strip() if proc.returncode == 0 else ""


class PoolAddress(Protocol):
    @property
    def collector(self) -> str: ...


class PoolAccess:
    """Subclasses set config, users_dir, uid_domain and annex_domain, and say whether and
    where the pool is up."""

    managed: bool  # whether the tool starts and stops the pool's daemons itself
    runtime: Runtime
    config: Path  # the pool's HTCondor config, as the runtime's programs see it
    users_dir: Path  # one 0700 token directory per user who acts on the pool
    uid_domain: str
    annex_domain: str

    def is_up(self) -> bool:
        raise NotImplementedError

    def require_up(self) -> PoolAddress:
        raise NotImplementedError

    # -- tokens ------------------------------------------------------------------------
    def issue_token(
        self, identity: str, authz: Sequence[str] = (), lifetime: int | None = None
    ) -> str:
        """A token signed with the pool's key; it goes to the caller, never to a log."""
        return create_token(self.runtime, self.config, identity, SIGNING_KEY, authz, lifetime)

    def worker_token(self, annex_name: str, lifetime: int) -> str:
        """The annex's worker token, signed with the annex's own key (made when missing),
        so `revoke_annex_tokens` can end it without touching any other annex's."""
        if seed.ensure_annex_key(self.password_dir, annex_name):
            # Daemons list their password directory's keys at most every 10 s, and a
            # client offers only a token whose key is listed: have them list it now.
            self._reconfig("-collector")
        return self._annex_token(annex_name, lifetime)

    def renewed_worker_token(self, annex_name: str, lifetime: int) -> str:
        """For `renew`: a new key for the annex, and a token signed with it. Every token
        issued before for this annex stops authenticating."""
        seed.rotate_annex_key(self.password_dir, annex_name)
        return self._annex_token(annex_name, lifetime)

    def revoke_annex_tokens(self, annex_name: str) -> None:
        """For `off`: the annex's key goes, so none of its tokens authenticates again."""
        seed.delete_annex_key(self.password_dir, annex_name)

    def _annex_token(self, annex_name: str, lifetime: int) -> str:
        identity = f"{annex_name}@{self.annex_domain}"
        key = seed.annex_key_name(annex_name)
        return create_token(self.runtime, self.config, identity, key, WORKER_AUTHZ, lifetime)

    # -- the seed's own view of an annex ---------------------------------------------------
    def restrict_annex_owners(self, annex_name: str, owners: Sequence[str]) -> None:
        """Make the pool's schedd run only `owners`' jobs on the annex's slots, whatever
        the workers advertise (no owners: anyone's). Call before its workers start."""
        seed.write_owners(self.seed_config_dir, annex_name, tuple(owners))
        self._reconfig("-schedd")

    def forget_annex(self, annex_name: str) -> None:
        """For `off`: revoke the annex's tokens and drop its owner restriction."""
        self.revoke_annex_tokens(annex_name)
        seed.write_owners(self.seed_config_dir, annex_name, ())
        self._reconfig("-schedd")

    def _reconfig(self, daemon: str) -> None:
        """condor_reconfig one of the pool's daemons (a pool that is down reads its
        config when it starts)."""
        if not self.is_up():
            return
        proc = subprocess.run(
            self.tool(["condor_reconfig", daemon], cwd=Path("/")),
            capture_output=True,
            text=True,
            check=False,
        )
        if proc.returncode != 0:
            raise AnnexError(f"condor_reconfig {daemon} failed: {proc.stderr.strip()}")

    def _config_value(self, name: str) -> str:
        value = config_value(self.runtime, self.config, name).split(",")[0].strip()
        if not value:
            raise AnnexError(f"the pool's config ({self.config}) has no {name}")
        return value

    @cached_property
    def password_dir(self) -> Path:
        """Where the pool's signing keys are (SEC_PASSWORD_DIRECTORY)."""
        return Path(self._config_value("SEC_PASSWORD_DIRECTORY"))

    @cached_property
    def seed_config_dir(self) -> Path:
        """Where the seed role's config is (the first LOCAL_CONFIG_DIR)."""
        return Path(self._config_value("LOCAL_CONFIG_DIR"))

    def user_token_dir(self, user: str) -> Path:
        """A token directory that lets `user` submit and manage jobs: the user's own (0700,
        token 0600), since what runs as the user reads it too (DAGMan, the user's scripts).
        A token past half its lifetime is renewed, so one in use never runs out."""
        uid, gid = (0, 0) if user == ADMIN else self.runtime.ensure_user(user)
        self.users_dir.mkdir(parents=True, exist_ok=True)
        os.chmod(self.users_dir, 0o755)  # noqa: S103 - only 0700 directories below
        directory = self.users_dir / user
        token = directory / "token"
        directory.mkdir(mode=0o700, exist_ok=True)
        if not token.is_file() or time.time() - token.stat().st_mtime > USER_TOKEN_LIFETIME / 2:
            identity = f"{user}@{self.uid_domain}"
            write_secret(token, self.issue_token(identity, lifetime=USER_TOKEN_LIFETIME))
        for path, mode in ((directory, 0o700), (token, 0o600)):
            os.chown(path, uid, gid)
            os.chmod(path, mode)
        return directory

    # -- acting on the pool ------------------------------------------------------------
    def connect(self) -> None:
        """Point this process's HTCondor bindings at the pool, as its administrator."""
        os.environ["_CONDOR_SEC_TOKEN_DIRECTORY"] = str(self.user_token_dir(ADMIN))
        os.environ["_CONDOR_SEC_CLIENT_AUTHENTICATION_METHODS"] = "IDTOKENS"
        htcondor2.reload_config()

    def tool_env(self, user: str | None = None) -> dict[str, str]:
        """Environment for a client of this pool: root acts as administrator, others by token."""
        return {
            "CONDOR_CONFIG": str(self.config),
            "_CONDOR_SEC_TOKEN_DIRECTORY": str(self.user_token_dir(user or ADMIN)),
            "_CONDOR_SEC_CLIENT_AUTHENTICATION_METHODS": "IDTOKENS",
        }

    def tool(
        self, argv: Sequence[str], user: str | None = None, cwd: Path | None = None
    ) -> list[str]:
        """argv that runs one of HTCondor's tools against the pool: as root, the pool's
        administrator, or as the ordinary `user` with that user's token."""
        self.require_up()
        env = self.tool_env(user)  # makes the user's account too
        return self.runtime.command(list(argv), env=env, cwd=cwd or Path.cwd(), user=user)
