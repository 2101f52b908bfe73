"""What an annex has spent and is spending, from its records alone (no provider call).

Every worker that has a price carries it: an elastic worker the price of the type it was
launched as (`price_per_hour` in its provider data), a plain annex's workers the annex's
`price_per_hour`. Billing is per second with a minimum of one minute per worker, as EC2
bills Linux instances; local prices are nominal. The same rules give `annex status` its
figures and the controller its budget check.
"""

from __future__ import annotations

from dataclasses import dataclass

from condor_annex.lifecycle import WorkerState
from condor_annex.model import AnnexRecord, WorkerRecord

SECONDS_PER_HOUR = 3600.0
MINIMUM_BILLED_SECONDS = 60.0
PRICE = "price_per_hour"  # the key in a worker's provider data


def worker_price(record: AnnexRecord, worker: WorkerRecord) -> float | None:
    price = worker.data.get(PRICE, record.price_per_hour)
    return None if price is None else float(price)


def billed_seconds(worker: WorkerRecord, now: float) -> float:
    """How long the worker is paid for so far: from its start to its end (or now)."""
    if worker.started_at is None:
        return 0.0
    end = worker.ended_at if worker.ended_at is not None else now
    return max(MINIMUM_BILLED_SECONDS, end - worker.started_at)


@dataclass(frozen=True)
class Spend:
    """`spent_usd` so far and `burn_per_hour` now (running workers x price); both None when
    no worker of the annex has a price (free, or the provider prices nothing)."""

    spent_usd: float | None
    burn_per_hour: float | None
    budget_usd: float | None

    @property
    def over_budget(self) -> bool:
        return (
            self.budget_usd is not None
            and self.spent_usd is not None
            and self.spent_usd >= self.budget_usd
        )


def spend(record: AnnexRecord, now: float) -> Spend:
    spent = burn = 0.0
    priced = record.price_per_hour is not None
    for worker in record.workers:
        price = worker_price(record, worker)
        if price is None:
            continue
        priced = True
        spent += price * billed_seconds(worker, now) / SECONDS_PER_HOUR
        if worker.state == WorkerState.RUNNING:
            burn += price
    if not priced:
        return Spend(None, None, record.budget_usd)
    return Spend(spent, burn, record.budget_usd)
