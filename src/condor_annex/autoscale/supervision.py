"""Making sure a controller runs for the annexes that need one, and stopping it for one.

Where the pool is the tool's own (its daemons run in the runtime's root, which cannot run
this Python), the tool's supervisor runs the controller. On a seed (`annex seed
configure` where HTCondor is installed natively), HTCondor's condor_master runs it as the
daemon ANNEX_AUTOSCALER.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import TYPE_CHECKING

from condor_annex.autoscale import view as views
from condor_annex.autoscale.identity import acting_as_daemon
from condor_annex.autoscale.state import ControllerState
from condor_annex.autoscale.supervisor import ensure_supervisor
from condor_annex.waiting import wait_for

if TYPE_CHECKING:
    from condor_annex.api import Annexes

DAEMON = "ANNEX_AUTOSCALER"
Say = Callable[[str], None]


def ensure_controller(api: Annexes, say: Say) -> None:
    """Make sure a controller runs for this state home: a seed's master runs it when its
    configuration lists it; otherwise the tool's own supervisor does (and says so on a
    seed, whose master would restart it across reboots)."""
    if not api.pool.managed and master_runs_controller(api):
        return
    if not api.pool.managed:
        say(
            f"Note: this seed's condor_master does not run the annex controller ({DAEMON} is "
            "not in DAEMON_LIST); the tool's own supervisor runs it instead. Run `annex seed "
            "configure` as root and condor_reconfig to have the master run it."
        )
    ensure_supervisor(api.store.home)


def master_runs_controller(api: Annexes) -> bool:
    value = getattr(api.pool, "value", None)
    daemons = value("DAEMON_LIST") if value is not None else ""
    return DAEMON in daemons.replace(",", " ").split()


def stop(api: Annexes, name: str, collector: str | None, wait: float) -> None:
    """`annex off` of an annex with a controller part: mark the controller done (it
    starts nothing more), let a launch in progress finish (the controller ends what it
    started for an annex turned off), then take its ad out of the collector."""
    with api.store.editing(name) as record:
        state = ControllerState.of(record)
        if state is None:
            return
        state.ended = state.ended or "turned off"
        state.save(record)

    def settled() -> bool:
        found = ControllerState.of(api.store.load_annex(name))
        return found is None or found.pending is None

    with contextlib.suppress(TimeoutError):
        wait_for(settled, wait, "the controller's launch in progress", interval=0.5)
    if collector and state.elastic:
        with contextlib.suppress(Exception), acting_as_daemon(api.pool, api.store.home):
            views.withdraw(collector, name)  # best effort: the ad expires by itself anyway
