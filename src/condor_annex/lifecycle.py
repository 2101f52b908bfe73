"""The life cycle of one annex worker, as an explicit state machine.

    REQUESTED -> BOOTING -> RUNNING -> GONE
         \\          \\________________/^
          \\________________________/

A worker is REQUESTED when the annex records it, BOOTING once the provider has started
it, RUNNING once its startd is in the pool, and GONE when it has ended for any reason
(idle, lease, off, failure). GONE is final; every other state may go straight to GONE.
"""

from __future__ import annotations

from enum import StrEnum


class WorkerState(StrEnum):
    REQUESTED = "requested"
    BOOTING = "booting"
    RUNNING = "running"
    GONE = "gone"


class GoneReason(StrEnum):
    EXITED = "exited"  # it left by itself before its lease ended (idle, or condor_off)
    LEASE = "lease"  # the lease ended (the worker left, or the reaper killed it)
    OFF = "off"  # `annex off` ended it
    FAILED = "failed"  # it never started


_ALLOWED = {
    WorkerState.REQUESTED: {WorkerState.BOOTING, WorkerState.GONE},
    WorkerState.BOOTING: {WorkerState.RUNNING, WorkerState.GONE},
    WorkerState.RUNNING: {WorkerState.GONE},
    WorkerState.GONE: set(),
}


class IllegalTransition(ValueError):
    pass


def transition(current: WorkerState, new: WorkerState) -> WorkerState:
    """The new state, or IllegalTransition when the life cycle does not allow the step."""
    if new == current:
        return current
    if new not in _ALLOWED[current]:
        raise IllegalTransition(f"a worker cannot go from {current} to {new}")
    return new
