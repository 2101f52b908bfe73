"""Minting IDTOKENS with HTCondor's own condor_token_create.

The token goes from the tool's stdout straight to the caller (who writes it 0600);
it is never printed or logged.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from condor_annex.errors import AnnexError
from condor_annex.runtime import Runtime
from condor_annex.runtime.base import run_checked


def create_token(
    runtime: Runtime,
    config: Path,
    identity: str,
    key: str,
    authz: Sequence[str] = (),
    lifetime: int | None = None,
) -> str:
    """A token for `identity`, signed with `key` from the config's SEC_PASSWORD_DIRECTORY."""
    argv = ["condor_token_create", "-identity", identity, "-key", key]
    for scope in authz:
        argv += ["-authz", scope]
    if lifetime is not None:
        argv += ["-lifetime", str(int(lifetime))]
    what = f"condor_token_create for {identity}"
    command = runtime.command(argv, env={"CONDOR_CONFIG": str(config)}, cwd=Path("/"))
    token = run_checked(command, what).stdout.strip()
    if not token:
        raise AnnexError(f"{what} printed no token")
    return token
