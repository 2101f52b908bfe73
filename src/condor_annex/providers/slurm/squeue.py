"""What Slurm says of an annex's pilots, as observations for the core.

`squeue -h -r -t all -j ARRAY -o '%i|%T|%r|%S'`: one line per array task (-r lists pending
tasks one by one), in any state (-t all: ended jobs stay listed until MinJobAge). Once
purged, a job is simply not listed; the core ends such a worker after the unseen grace.
"""

from __future__ import annotations

from datetime import datetime

from condor_annex.interfaces import Observation, Seen
from condor_annex.lifecycle import GoneReason

FORMAT = "%i|%T|%r|%S"
PENDING = {"PENDING", "CONFIGURING", "REQUEUED", "REQUEUE_HOLD", "REQUEUE_FED", "RESV_DEL_HOLD"}
STARTED = {"RUNNING", "COMPLETING", "SUSPENDED", "STOPPED", "SIGNALING", "STAGE_OUT", "RESIZING"}
# Slurm ended it at its time limit: the lease plus a grace.
AT_LIMIT = {"TIMEOUT", "DEADLINE"}


def _epoch(text: str) -> float | None:
    try:
        return datetime.fromisoformat(text).timestamp()
    except ValueError:
        return None  # N/A, Unknown: not started


def parse(output: str) -> list[Observation]:
    seen = []
    for line in output.splitlines():
        fields = line.strip().split("|")
        if len(fields) != 4 or "_" not in fields[0]:
            continue
        job, state, reason, start = fields
        state = state.split()[0].rstrip("+")
        if state in PENDING:
            kind = Seen.PENDING
        elif state in STARTED:
            kind = Seen.STARTED
        else:
            kind = Seen.ENDED
        detail = "" if kind == Seen.STARTED or reason in ("None", "") else reason
        seen.append(
            Observation(
                job,
                kind,
                started_at=_epoch(start) if kind != Seen.PENDING else None,
                ended_by=GoneReason.LEASE if state in AT_LIMIT else None,
                detail=f"{state.lower()}: {detail}" if detail else "",
                data={"job": job, "slurm_state": state},
            )
        )
    return seen


def live(seen: list[Observation]) -> list[str]:
    return [o.id for o in seen if o.seen != Seen.ENDED]
