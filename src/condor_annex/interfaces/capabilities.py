"""Optional capabilities. A provider package lists the ones it has in `CAPABILITIES`, and
the core and the CLI ask for a capability, never for a provider by name.

- "renew":    its Provider also implements `Renewable` (a lease can be moved).
- "account":  the package exports `open_account(context, options) -> Account`.
- "reaper":   the package exports `open_reaper(context, options) -> LeaseReaper`.
- "catalogue": the package exports `open_catalogue(context, options, location)`.
- "commands": the package exports `add_commands(cli, say)`, adding its own commands.
- "standalone": the package exports `open_standalone(context, options, say)`, a context
  manager that brings up on this machine whatever the provider needs for a demo (a local
  batch system, say) unless it is already running, and takes down what it brought up.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from condor_annex.model import AnnexRecord
    from condor_annex.planning.catalogue import WorkerType
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
    def worker_types(self) -> list[WorkerType]:
        """The worker types an elastic annex may start here, with shapes and prices."""
        ...
