"""Optional capabilities. A provider package lists the ones it has in `CAPABILITIES`, and
the core and the CLI ask for a capability, never for a provider by name.

- "renew":    its Provider also implements `Renewable` (a lease can be moved).
- "account":  the package exports `open_account(context, options) -> Account`.
- "reaper":   the package exports `open_reaper(context, options) -> LeaseReaper`.
- "catalogue": the package exports `open_catalogue(context, options, location)`, whose
  `Catalogue` prices and starts workers for elastic annexes (and prices plain ones, so a
  budget can be kept).
- "commands": the package exports `add_commands(cli, say)`, adding its own commands.
- "standalone": the package exports `open_standalone(context, options, say)`, a context
  manager that brings up on this machine whatever the provider needs for a demo (a local
  batch system, say) unless it is already running, and takes down what it brought up.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from condor_annex.interfaces.observation import Observation
    from condor_annex.model import AnnexRecord, AnnexRequest, WorkerRecord
    from condor_annex.planning.catalogue import WorkerType
    from condor_annex.planning.outcome import Launch
    from condor_annex.workerconfig import WorkerBundle

CAPABILITIES = ("renew", "account", "reaper", "catalogue", "commands", "standalone")

Say = Callable[[str], None]
Confirm = Callable[[str], bool]


class Renewable(Protocol):
    def set_lease(self, annex: AnnexRecord, bundle: WorkerBundle) -> None:
        """Carry a new lease end (annex.lease_end) and a fresh token to live workers, or
        raise UsageError saying why this lease cannot be moved."""
        ...


class Account(Protocol):
    """What must exist in the provider's account before annexes can start there."""

    def setup(self, say: Say) -> None: ...

    def check_setup(self, say: Say) -> bool:
        """One line per part; True when everything is as it should be."""
        ...

    def teardown(self, say: Say, confirm: Confirm) -> bool:
        """Say what will be removed, ask `confirm`, remove it, then say what is left;
        True when nothing is left."""
        ...


class LeaseReaper(Protocol):
    def reap(self, now: float, say: Say) -> bool:
        """End every worker past its lease, once; False if anything could not be done."""
        ...


class Catalogue(Protocol):
    """Worker types and prices, and starting one decision group of an elastic annex.

    Workers a catalogue starts carry in their observation's `data` at least "type" (the
    WorkerType's name), "spot" and "price_per_hour" (USD, what the worker costs while it
    lives), so the core can price and shape them without asking again.
    """

    def worker_types(self) -> list[WorkerType]:
        """The worker types an elastic annex may start here now, with shapes and prices
        (offerings marked unavailable by `lost` or a capacity error left out)."""
        ...

    def plain_price(self, request: AnnexRequest) -> float | None:
        """The hourly price of one worker of a plain annex as requested (None: unknown)."""
        ...

    def launch(
        self, annex: AnnexRecord, bundle: WorkerBundle, launch: Launch, request_id: str
    ) -> list[Observation]:
        """Start one decision group: `launch.count` workers of `launch.type`, or of its
        `alternatives` (price-ordered; on AWS one instant CreateFleet over them). The
        bundle is the annex's, with cpus/memory 0 (the provider sets or detects them).

        Idempotent per `request_id`: called again with the same id (a controller that was
        killed mid-launch and restarted), it returns the workers that request started and
        never starts more than `launch.count` for it in all. It may start fewer (capacity
        ran out); it raises only when it started nothing, and leaves nothing behind then.
        """
        ...

    def lost(self, annex: AnnexRecord, workers: Sequence[WorkerRecord]) -> None:
        """These workers ended while their lease held and nobody ended them (a spot
        interruption): avoid their offering for a while, so a replacement is another type
        or zone."""
        ...
