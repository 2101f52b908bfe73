"""Which type to start for an autocluster's leftover jobs: price per unit of packed work,
with a penalty for room left idle.

Like cluster-autoscaler's price expander (node price against the price of the work placed
on it) and its least-waste expander (unused CPU and memory fractions), and HEPCloud's
figure of merit (price over useful capacity). A type with GPUs is never offered work that
needs none (the matcher says so), so GPU types need no extra penalty here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from condor_annex.planning.catalogue import Resources, WorkerType


@dataclass(frozen=True)
class Choice:
    """A candidate, ordered best first: lowest score, then least waste, cheapest, smallest."""

    score: float
    waste: float
    price: float
    cpus: int
    name: str
    workers: int  # workers of this type the leftover jobs need
    per_worker: int  # jobs of the autocluster one worker holds


def waste_of(worker_type: WorkerType, request: Resources, jobs: int, workers: int) -> float:
    """Mean unused fraction of the CPUs, memory (and GPUs, on a GPU type) of `workers`
    workers holding `jobs` jobs."""
    t = worker_type
    parts = [(request.cpus, t.cpus), (request.memory_mb, t.memory_mb)]
    if t.gpus:
        parts.append((request.gpus, t.gpus))
    fractions = [1.0 - (want * jobs) / (have * workers) for want, have in parts if have > 0]
    return sum(fractions) / len(fractions) if fractions else 0.0


def rank(
    types: list[WorkerType], request: Resources, jobs: int, waste_weight: float
) -> list[tuple[Choice, WorkerType]]:
    """Every type that can hold at least one job, best first, for `jobs` leftover jobs."""
    ranked = []
    for t in types:
        per = t.resources.how_many(request)
        if per < 1:
            continue
        workers = math.ceil(jobs / per)
        waste = waste_of(t, request, jobs, workers)
        # Price per job placed (the work is the same whichever type runs it), with waste.
        score = workers * t.price_per_hour / jobs * (1.0 + waste_weight * waste)
        choice = Choice(score, waste, t.price_per_hour, t.cpus, t.name, workers, per)
        ranked.append((choice, t))
    # Plain tuples compare far faster than the dataclass's generated ordering.
    ranked.sort(
        key=lambda pair: (pair[0].score, pair[0].waste, pair[0].price, pair[0].cpus, pair[0].name)
    )
    return ranked


def alternatives(
    chosen: WorkerType, used: Resources, compatible: list[WorkerType], limit: int = 20
) -> tuple[WorkerType, ...]:
    """Types a provider may start instead (one CreateFleet over them, cheapest first): each
    runs the same jobs, holds the same packing, and costs and counts no more against the
    caps than the chosen type. The chosen type comes first."""
    others = [
        t
        for t in compatible
        if t != chosen
        and t.resources.covers(used)
        and t.price_per_hour <= chosen.price_per_hour
        and t.cpus <= chosen.cpus
        and t.gpus <= chosen.gpus
    ]
    others.sort(key=lambda t: (t.price_per_hour, t.cpus, t.name))
    return (chosen, *others[: limit - 1])
