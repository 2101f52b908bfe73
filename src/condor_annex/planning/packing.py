"""First-fit packing of an autocluster's jobs into bins of room, counted arithmetically.

A bin is `count` identical workers with the same room left, so packing 100,000 jobs costs
what packing 1,000 does: a group of new workers is split (at most in three) only where a
fill ends part-way through it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from condor_annex.planning.catalogue import Resources, WorkerType
from condor_annex.planning.demand import IdleAutocluster

EXISTING, IN_FLIGHT, NEW = "existing", "in_flight", "new"


@dataclass
class Bin:
    """`count` workers of one type, each with `room` left. `worker_id` names a real worker
    (existing or in flight); new bins carry the index of their launch group instead."""

    type: WorkerType
    room: Resources
    count: int
    kind: str
    worker_id: str | None = None
    group: int | None = None
    jobs: dict[str, int] = field(default_factory=dict)  # autocluster id -> jobs packed

    def copy_with(self, room: Resources, count: int) -> Bin:
        return Bin(self.type, room, count, self.kind, self.worker_id, self.group, dict(self.jobs))


def fill(
    ac: IdleAutocluster, remaining: int, bins: list[Bin], runs_on: Callable[[WorkerType], bool]
) -> int:
    """Put up to `remaining` of the autocluster's jobs into `bins` in order (first fit) on
    the types it `runs_on`, splitting a bin group where the fill ends inside it. Returns the
    jobs left over."""
    index = 0
    while index < len(bins) and remaining > 0:
        current = bins[index]
        index += 1
        per = current.room.how_many(ac.request)
        if per < 1 or not runs_on(current.type):
            continue
        full, rest = divmod(remaining, per)
        if full >= current.count:  # the whole group fills
            placed = per * current.count
            current.room = current.room.minus(ac.request, per)
            current.jobs[ac.id] = current.jobs.get(ac.id, 0) + placed
            remaining -= placed
            continue
        # The fill ends inside this group: `full` workers get `per` jobs, one gets `rest`,
        # the others keep their room.
        pieces: list[Bin] = []
        if full:
            taken = current.copy_with(current.room.minus(ac.request, per), full)
            taken.jobs[ac.id] = taken.jobs.get(ac.id, 0) + per * full
            pieces.append(taken)
        if rest:
            partial = current.copy_with(current.room.minus(ac.request, rest), 1)
            partial.jobs[ac.id] = partial.jobs.get(ac.id, 0) + rest
            pieces.append(partial)
        untouched = current.count - full - (1 if rest else 0)
        if untouched:
            pieces.append(current.copy_with(current.room, untouched))
        bins[index - 1 : index] = pieces
        index += len(pieces) - 1
        remaining = 0
    return remaining


def new_bins(
    ac: IdleAutocluster,
    remaining: int,
    worker_type: WorkerType,
    count: int,
    group: int,
) -> tuple[list[Bin], int]:
    """`count` new workers of a type opened for this autocluster, packed with as many of
    its `remaining` jobs as fit; returns the bins and the jobs still left."""
    bins = [Bin(worker_type, worker_type.resources, count, NEW, group=group)]
    return bins, fill(ac, remaining, bins, lambda _type: True)  # chosen to run it
