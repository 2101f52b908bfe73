"""This machine's own HTCondor as the pool annexes join: a seed made by `annex seed
configure` (for example the seed node of a pool in the cloud).

Chosen with ANNEX_DEFAULT_POOL = system. Its config (ANNEX_DEFAULT_POOL_CONFIG, else
/etc/condor/condor_config) is read through the runtime's condor_config_val, so a
private runtime works as well as a native install. The tool signs annex and user tokens
with the seed's key and never starts or stops the pool's daemons: the system does.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from condor_annex.errors import UsageError
from condor_annex.poolaccess import PoolAccess, config_value
from condor_annex.poolquery import daemon_names
from condor_annex.runtime import Runtime
from condor_annex.seed import SIGNING_KEY
from condor_annex.store import Store

SYSTEM_CONFIG = Path("/etc/condor/condor_config")
DEFAULT_PORT = 9618


@dataclass(frozen=True)
class SystemPoolAddress:
    collector: str


class SystemPool(PoolAccess):
    managed = False

    def __init__(self, store: Store, runtime: Runtime, config: Path | None = None) -> None:
        self.runtime = runtime
        self.config = config or SYSTEM_CONFIG
        self.users_dir = store.home / "system-pool" / "users"
        self._is_seed = False

    def value(self, name: str) -> str:
        """One value of the pool's config, or a UsageError naming what to set."""
        value = config_value(self.runtime, self.config, name)
        if not value:
            raise UsageError(
                f"the system pool's config ({self.config}) has no {name}; set it, or point "
                "ANNEX_DEFAULT_POOL_CONFIG at the seed's config"
            )
        return value

    @cached_property
    def uid_domain(self) -> str:  # type: ignore[override]
        return self.value("UID_DOMAIN")

    @cached_property
    def annex_domain(self) -> str:  # type: ignore[override]
        return f"annex.{self.uid_domain}"

    @cached_property
    def address(self) -> SystemPoolAddress:
        collector = self.value("COLLECTOR_HOST").split(",")[0].strip()
        if ":" not in collector:
            collector = f"{collector}:{DEFAULT_PORT}"
        return SystemPoolAddress(collector)

    def _check_seed(self) -> None:
        """This HTCondor must hold the seed's signing key (asked once per instance)."""
        if self._is_seed:
            return
        key = Path(self.value("SEC_PASSWORD_DIRECTORY")) / SIGNING_KEY
        probe = subprocess.run(
            self.runtime.command(["test", "-f", str(key)], cwd=Path("/")), check=False
        )
        if probe.returncode != 0:
            raise UsageError(
                f"this HTCondor is not a seed (no signing key {key}); "
                "run `annex seed configure` as root first"
            )
        self._is_seed = True

    def require_up(self) -> SystemPoolAddress:
        self._check_seed()
        self.connect()
        try:
            names = daemon_names(self.address.collector)
        except Exception as err:  # the bindings raise several kinds
            names = set()
            reason = f" ({str(err)[:120]})"
        else:
            reason = ""
        if "Scheduler" not in names:
            raise UsageError(
                f"the system pool at {self.address.collector} has no schedd answering{reason}; "
                "start HTCondor (e.g. systemctl start condor)"
            )
        return self.address

    def is_up(self) -> bool:
        try:
            self.require_up()
        except UsageError:
            return False
        return True

    def up(self, **_: object) -> SystemPoolAddress:
        raise UsageError("the system pool is HTCondor's own; start it with the system's tools")
