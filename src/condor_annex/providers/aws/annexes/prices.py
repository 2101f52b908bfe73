"""A rough cost so far, from a small price table shipped with the package.

The table (templates/prices.json) says how old it is (`as_of`) and which region it is
for; estimates say so too, because prices change and the table does not. Spot usage is
priced at the on-demand rate, so an estimate is an upper bound. Types missing from the
table are listed, not guessed.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any, Protocol

SECONDS_PER_HOUR = 3600.0


@dataclass(frozen=True)
class PriceTable:
    as_of: str
    region: str
    prices: dict[str, float]


@cache
def price_table() -> PriceTable:
    path = resources.files("condor_annex.providers.aws") / "templates" / "prices.json"
    data: dict[str, Any] = json.loads(path.read_text())
    return PriceTable(
        data["as_of"], data["region"], {k: float(v) for k, v in data["prices"].items()}
    )


class Usage(Protocol):
    """One instance's use: its type and when it ran (ended_at None while it runs)."""

    instance_type: str
    started_at: float | None
    ended_at: float | None


@dataclass(frozen=True)
class InstanceUsage:
    instance_type: str
    started_at: float | None
    ended_at: float | None = None


@dataclass
class CostEstimate:
    dollars: float
    as_of: str
    region: str
    unpriced_types: list[str] = field(default_factory=list)

    def line(self) -> str:
        text = f"~${self.dollars:.2f} so far ({self.region} on-demand prices as of {self.as_of}"
        if self.unpriced_types:
            text += f"; no price for {', '.join(self.unpriced_types)}"
        return text + ")"


def estimated_cost(records: Iterable[Usage], now: float) -> CostEstimate:
    """Dollars spent by `records` up to `now`, at the table's on-demand rates."""
    table = price_table()
    dollars = 0.0
    unpriced: set[str] = set()
    for rec in records:
        if rec.started_at is None:
            continue
        end = rec.ended_at if rec.ended_at is not None else now
        hours = max(0.0, end - rec.started_at) / SECONDS_PER_HOUR
        price = table.prices.get(rec.instance_type)
        if price is None:
            unpriced.add(rec.instance_type or "unknown")
            continue
        dollars += hours * price
    return CostEstimate(round(dollars, 4), table.as_of, table.region, sorted(unpriced))
