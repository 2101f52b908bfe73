"""Secrets: the pool key and tokens are 0600, each annex has its own scoped token that
expires with its lease, and workers never hold the pool's signing key."""

from __future__ import annotations

import base64
import json
import os
import stat
import subprocess
from pathlib import Path

from tests.condor.jobs import wait_slots

from condor_annex import Annexes


def _claims(token: str) -> dict[str, object]:
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def _mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_each_annex_has_its_own_scoped_expiring_token(annexes: Annexes) -> None:
    pool_dir = annexes.store.pool_dir
    assert _mode(pool_dir / "secrets" / "passwords.d" / "POOL") == 0o600
    assert _mode(pool_dir / "secrets" / "tokens.d" / "condor") == 0o600

    one = annexes.create(annexes.request("one", count=1, lease_seconds=600, idle_seconds=300))
    two = annexes.create(annexes.request("two", count=1, lease_seconds=1200, idle_seconds=300))
    wait_slots(annexes, "one", 1)
    tokens = {}
    for record in (one, two):
        worker_dir = annexes.store.workers_dir / record.workers[0].id
        token_file = worker_dir / "tokens.d" / "annex"
        assert _mode(token_file) == 0o600
        assert not list(worker_dir.rglob("POOL")), "a worker must not hold the signing key"
        claims = _claims(token_file.read_text().strip())
        assert claims["sub"] == f"{record.name}@annex.condor-annex.local"
        scopes = set(str(claims["scope"]).split())
        assert scopes == {"condor:/ADVERTISE_STARTD", "condor:/ADVERTISE_MASTER", "condor:/READ"}
        assert abs(int(str(claims["exp"])) - (record.lease_end + 300)) < 30
        tokens[record.name] = token_file.read_text()
    assert tokens["one"] != tokens["two"]


def test_an_annex_token_cannot_submit_jobs(annexes: Annexes, tmp_path: Path) -> None:
    record = annexes.create(annexes.request("noop", count=1, lease_seconds=600, idle_seconds=300))
    token_dir = annexes.store.workers_dir / record.workers[0].id / "tokens.d"
    sub = tmp_path / "x.sub"
    sub.write_text("executable = /bin/true\nqueue\n")
    env = {
        "CONDOR_CONFIG": str(annexes.pool.config),
        "_CONDOR_SEC_TOKEN_DIRECTORY": str(token_dir),
        "_CONDOR_SEC_CLIENT_AUTHENTICATION_METHODS": "IDTOKENS",
    }
    argv = annexes.runtime.command(["condor_submit", str(sub)], env=env, cwd=tmp_path)
    proc = subprocess.run(argv, capture_output=True, text=True, check=False)
    assert proc.returncode != 0
    assert "submitted" not in proc.stdout
