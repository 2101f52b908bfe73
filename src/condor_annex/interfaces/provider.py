"""The one small interface every provider implements: start, look at, and end an annex's
workers (compare TARDIS's SiteAdapter and SkyPilot's provision/<cloud> functions).

The core decides *what* (how many, which lease, which configuration); a provider knows only
*where*. It reports what it observes and never changes a worker's state itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from condor_annex.interfaces.observation import Observation

if TYPE_CHECKING:
    from condor_annex.model import AnnexRecord, AnnexRequest
    from condor_annex.settings import Settings
    from condor_annex.store import Store
    from condor_annex.workerconfig import WorkerBundle


@dataclass(frozen=True)
class Context:
    """What the core gives a provider: where state lives, and the installation's settings."""

    store: Store
    settings: Settings

    def state_dir(self, provider: str) -> Path:
        """A directory of the provider's own (made on demand by the provider)."""
        return self.store.home / "providers" / provider

    def pool_id(self) -> str:
        """The pool's id: key what the provider makes by it and the annex name, where
        other pools may make things too (see poolid.py)."""
        from condor_annex.poolid import pool_id

        return pool_id(self.store.home)


@dataclass(frozen=True)
class Timing:
    # After a lease ends, how long until the provider's backstop ends a worker still alive.
    lease_grace_seconds: float
    # How long `off` waits for fresh workers' master ads before ending them directly.
    join_wait_seconds: float
    # How often a wait may ask the provider again (cloud APIs throttle).
    poll_seconds: float
    # A live worker the provider no longer lists is taken as gone after this long
    # (eventual consistency right after a launch; batch systems purge finished jobs).
    unseen_grace_seconds: float


class Cost(Protocol):
    """An estimate of what an annex has cost so far."""

    dollars: float

    def line(self) -> str: ...


class Provider(Protocol):
    name: str
    # Where the workers run within the provider (a region, a cluster, a host; "" for one place).
    location: str
    # Workers run on this machine, so they reach a pool at a loopback address.
    same_host: bool
    timing: Timing
    # Best-effort steps that failed (for the caller to show); never secrets.
    warnings: list[str]

    def describe(self, request: AnnexRequest) -> str:
        """What creating `request` will start, for the confirmation question."""
        ...

    def prepare(self, request: AnnexRequest) -> None:
        """Check everything a launch needs (UsageError if not) before anything is made."""
        ...

    def run_instances(
        self, annex: AnnexRecord, bundle: WorkerBundle, count: int
    ) -> list[Observation]:
        """Start `count` workers now; on failure, leave nothing behind and raise. It may
        note in `annex.provider_data` what later calls need (the core saves it)."""
        ...

    def query_instances(self, annex: AnnexRecord) -> list[Observation]:
        """What the provider sees of the annex's workers now (any it started, even ones
        the record does not know yet)."""
        ...

    def terminate_instances(self, annex: AnnexRecord, ids: Sequence[str] | None = None) -> None:
        """End the given workers (all of the annex's, and its credentials, when None) at
        once, jobs or not."""
        ...

    def cost(self, annex: AnnexRecord) -> Cost | None:
        """The annex's cost so far (None where nothing is billed), from the last query."""
        ...
