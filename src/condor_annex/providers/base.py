"""The one small interface every provider implements (compare TARDIS's SiteAdapter and
SkyPilot's provision/<cloud> modules): start, look at, and end an annex's instances.

The core decides *what* (how many, which lease, which config); a provider only knows
*where*. Records passed in are the annex's; providers update their workers in place and
the caller saves them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from condor_annex.model import AnnexRecord, AnnexRequest, WorkerRecord
from condor_annex.workerconfig import WorkerBundle


class Cost(Protocol):
    """An estimate of what an annex has cost so far."""

    dollars: float

    def line(self) -> str: ...


class Provider(Protocol):
    name: str
    # Where the workers run within the provider (an AWS region; "" when there is one place).
    region: str
    # How long after a lease ends the provider's backstop ends a worker that is still alive.
    lease_grace_seconds: float
    # How long `off` waits for fresh workers' master ads before ending them directly.
    join_wait_seconds: float
    # How often a wait on the provider's view may ask it again (cloud APIs throttle).
    poll_seconds: float
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
    ) -> list[WorkerRecord]:
        """Start `count` workers now; returns their records (state BOOTING or later)."""
        ...

    def query_instances(self, annex: AnnexRecord) -> list[WorkerRecord]:
        """Refresh the annex's workers from the provider's view; returns them."""
        ...

    def terminate_instances(self, annex: AnnexRecord, ids: Sequence[str] | None = None) -> None:
        """End the given workers (all of the annex's when None) at once, jobs or not."""
        ...

    def set_lease(self, annex: AnnexRecord, bundle: WorkerBundle) -> None:
        """Carry a new lease end (annex.lease_end) and a fresh token to live workers."""
        ...

    def cost(self, annex: AnnexRecord) -> Cost | None:
        """The annex's cost so far (None where nothing is billed), from the last query."""
        ...
