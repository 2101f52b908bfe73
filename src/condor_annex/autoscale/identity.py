"""Who the controller is to the pool: one of its daemons (condor@UID_DOMAIN).

Advertising a generic ad (`UPDATE_AD_GENERIC`, the controller's state) needs DAEMON
authorization, which the seed role gives only to condor@, not to the tool's own root@
identity. The controller holds a condor@ token of its own, signed with the pool's key
(the tool can sign on the pools it manages), in a 0700 directory of the state home, and
renews it once half its lifetime has passed.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator
from pathlib import Path

import htcondor2

from condor_annex.poolaccess import PoolAccess
from condor_annex.secretfiles import write_secret

LIFETIME = 2 * 86400
TOKEN_NAME = "condor"  # noqa: S105 - a file name, not a secret


def token_dir(home: Path) -> Path:
    return home / "autoscaler" / "tokens.d"


@contextlib.contextmanager
def acting_as_daemon(pool: PoolAccess, home: Path) -> Iterator[None]:
    """For a moment (a command such as `annex off` withdrawing the controller's ad), act
    as the daemon identity, then as before."""
    names = ("_CONDOR_SEC_TOKEN_DIRECTORY", "_CONDOR_SEC_CLIENT_AUTHENTICATION_METHODS")
    saved = {name: os.environ.get(name) for name in names}
    connect_as_daemon(pool, home)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        htcondor2.reload_config()


def connect_as_daemon(pool: PoolAccess, home: Path) -> None:
    """Point this process's bindings at the pool as its condor@ daemon identity."""
    directory = token_dir(home)
    directory.mkdir(parents=True, mode=0o700, exist_ok=True)
    os.chmod(directory, 0o700)
    token = directory / TOKEN_NAME
    if not token.is_file() or time.time() - token.stat().st_mtime > LIFETIME / 2:
        identity = f"condor@{pool.uid_domain}"
        write_secret(token, pool.issue_token(identity, lifetime=LIFETIME))
    os.environ["_CONDOR_SEC_TOKEN_DIRECTORY"] = str(directory)
    os.environ["_CONDOR_SEC_CLIENT_AUTHENTICATION_METHODS"] = "IDTOKENS"
    htcondor2.reload_config()
