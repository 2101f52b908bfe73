"""What a provider reports about one worker. Providers observe; the core decides states.

The core (`condor_annex.settle`) turns observations plus the pool's view into the worker
life cycle, so "running" has one meaning everywhere: the worker's startd is in the pool.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from condor_annex.lifecycle import GoneReason


class Seen(StrEnum):
    PENDING = "pending"  # accepted, not started yet (a queued batch job)
    STARTED = "started"  # its machine or process has been started and has not ended
    ENDED = "ended"  # it is over, whatever the reason


@dataclass
class Observation:
    id: str
    seen: Seen
    address: str = ""
    started_at: float | None = None
    # Set only where the provider knows better than the core's rule: LEASE when its own
    # reaper ended the worker at the lease, FAILED when it ended without ever running.
    ended_by: GoneReason | None = None
    # The provider's own words for the state (a batch system's reason), for status.
    detail: str = ""
    # Per-worker provider data the provider wants kept in the record (pids, job ids).
    data: dict[str, Any] = field(default_factory=dict)
