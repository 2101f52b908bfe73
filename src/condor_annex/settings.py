"""Defaults from HTCondor configuration (ANNEX_DEFAULT_*), read with htcondor2.param.

These are the knobs users of the classic condor_annex already set in their config; the
values keep the classic meaning (seconds for lease and idle time).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import htcondor2

from condor_annex.errors import UsageError

DEFAULT_LEASE_SECONDS = 3000  # the classic default: 0.83 h
DEFAULT_IDLE_SECONDS = 900  # the classic default: 0.25 h
DEFAULT_MAX_COUNT = 50


def param(name: str) -> str | None:
    """An HTCondor configuration value, stripped; None when unset or empty."""
    value = htcondor2.param.get(name)
    return value.strip() if isinstance(value, str) and value.strip() else None


def path_param(name: str) -> Path | None:
    value = param(name)
    return Path(value).expanduser() if value else None


def int_param(name: str, default: int) -> int:
    raw = param(name)
    if raw is None:
        return default
    try:
        return int(float(raw))
    except ValueError:
        raise UsageError(f"HTCondor config {name} = {raw!r} is not a number; fix it") from None


@dataclass(frozen=True)
class Settings:
    provider: str
    lease_seconds: int
    idle_seconds: int
    max_count: int
    home: Path
    # Which pool annexes join: "local" (the tool's own) or "system" (this machine's seed).
    pool: str = "local"
    pool_config: Path | None = None


def state_home() -> Path:
    """Where pools and annexes keep their state (CONDOR_ANNEX_HOME overrides)."""
    if os.environ.get("CONDOR_ANNEX_HOME"):
        return Path(os.environ["CONDOR_ANNEX_HOME"]).resolve()
    if os.geteuid() == 0:
        return Path("/var/lib/condor-annex")
    base = os.environ.get("XDG_STATE_HOME", str(Path.home() / ".local" / "state"))
    return Path(base) / "condor-annex"


def load_settings() -> Settings:
    return Settings(
        provider=param("ANNEX_DEFAULT_PROVIDER") or "local",
        lease_seconds=int_param("ANNEX_DEFAULT_LEASE_DURATION", DEFAULT_LEASE_SECONDS),
        idle_seconds=int_param("ANNEX_DEFAULT_UNCLAIMED_TIMEOUT", DEFAULT_IDLE_SECONDS),
        max_count=int_param("ANNEX_DEFAULT_MAX_COUNT", DEFAULT_MAX_COUNT),
        home=state_home(),
        pool=_pool_kind(),
        pool_config=Path(value) if (value := param("ANNEX_DEFAULT_POOL_CONFIG")) else None,
    )


def _pool_kind() -> str:
    kind = (param("ANNEX_DEFAULT_POOL") or "local").lower()
    if kind not in ("local", "system"):
        raise UsageError(f"HTCondor config ANNEX_DEFAULT_POOL = {kind!r}; use local or system")
    return kind
