"""The AWS provider's catalogue: instance types an elastic annex may start, priced.

Types are --instance-types, else the families the planner's default catalogue uses (c6i,
m6i, r6i and g5, as listed in the shipped price table). With --spot the offerings are
spot, priced from DescribeSpotPriceHistory; otherwise on-demand, priced by the Price List
API when it answers, else by the shipped, dated table. Offerings that had no capacity or
whose spot instances were taken away are left out for a while (offerings.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from functools import cached_property
from pathlib import Path
from typing import Any

from condor_annex.errors import AnnexError
from condor_annex.interfaces import Observation
from condor_annex.model import AnnexRecord, AnnexRequest, WorkerRecord
from condor_annex.planning import Launch, WorkerType
from condor_annex.providers.aws.annexes.fleet import create_fleet
from condor_annex.providers.aws.annexes.offerings import Offerings, offering, spot_prices
from condor_annex.providers.aws.annexes.options import AwsOptions, aws_provider
from condor_annex.providers.aws.annexes.pricelist import on_demand_prices, pricing_client
from condor_annex.providers.aws.annexes.prices import price_table
from condor_annex.providers.aws.annexes.provider import AwsProvider
from condor_annex.providers.aws.awserrors import aws_errors
from condor_annex.workerconfig import WorkerBundle

DEFAULT_FAMILIES = ("c6i", "m6i", "r6i", "g5")


def default_types() -> list[str]:
    return [n for n in price_table().prices if n.split(".")[0] in DEFAULT_FAMILIES]


class AwsCatalogue:
    """The "catalogue" capability of the AWS provider. Nothing is asked of AWS until a
    type list or a launch is wanted."""

    def __init__(self, options: AwsOptions, location: str, state_dir: Path, pool: str) -> None:
        self.options = options
        self.pool = pool
        self.location = location
        self.state_dir = state_dir
        # Where the last on-demand prices came from, for people ("price list" or the table).
        self.price_source = ""

    @cached_property
    def provider(self) -> AwsProvider:
        return aws_provider(self.options, self.pool, self.location or None)

    @cached_property
    def offerings(self) -> Offerings:
        return Offerings(self.state_dir, self.provider.region)

    def names(self) -> list[str]:
        return list(self.options.instance_types) or default_types()

    def _on_demand(self, names: list[str]) -> dict[str, float]:
        """Price List prices (asked once a day), else the shipped table's."""
        listed = self.offerings.cached_prices()
        wanted = [n for n in names if n not in listed]
        if wanted:
            client = pricing_client(self.provider.session)
            asked = on_demand_prices(client, self.provider.region, wanted)
            self.offerings.remember_prices(asked)
            listed.update(asked)
        table = price_table()
        self.price_source = (
            "the AWS Price List"
            if any(n in listed for n in names)
            else f"the table of {table.as_of}"
        )
        merged = {**table.prices, **listed}
        return {n: merged[n] for n in names if n in merged}

    @aws_errors
    def worker_types(self) -> list[WorkerType]:
        names = self.names()
        ec2 = self.provider.client("ec2")
        shapes = self.offerings.shapes(ec2, names)
        spot = self.options.spot
        prices = spot_prices(ec2, names) if spot else self._on_demand(names)
        avoided = self.offerings.avoided()
        return [
            shapes[n].worker_type(n, prices[n], spot)
            for n in names
            if n in shapes and n in prices and offering(n, spot) not in avoided
        ]

    def plain_price(self, request: AnnexRequest) -> float | None:
        """The table's on-demand price of the plain annex's type (the highest of its spot
        types: an upper bound); no AWS call."""
        table = price_table().prices
        if self.options.spot:
            known = [table[t] for t in self.options.instance_types if t in table]
            return max(known) if known else None
        return table.get(self.options.chosen_instance_type())

    @aws_errors
    def launch(
        self, annex: AnnexRecord, bundle: WorkerBundle, launch: Launch, request_id: str
    ) -> list[Observation]:
        # An annex's cloud workers share one configuration (in its bucket), so a launch's
        # reservation for its own jobs cannot ride along: the next launch's would replace it.
        shared = replace(bundle, reserve="", reserve_seconds=0)
        result = create_fleet(self.provider, annex, shared, launch, request_id)
        if result.no_capacity:
            self.offerings.avoid(offering(n, launch.type.spot) for n in result.no_capacity)
        if not result.observations:
            raise AnnexError(
                "the fleet launched nothing (" + ("; ".join(result.errors) or "no reason") + ")"
            )
        return result.observations

    def lost(self, annex: AnnexRecord, workers: Sequence[WorkerRecord]) -> None:
        """Spot workers taken away: avoid their offering for a while."""
        taken = [w for w in workers if w.data.get("spot") and w.data.get("type")]
        if taken:
            self.offerings.avoid(offering(str(w.data["type"]), True) for w in taken)


def open_aws_catalogue(options: Any, location: str, state_dir: Path, pool: str) -> AwsCatalogue:
    return AwsCatalogue(AwsOptions.from_given(options), location, state_dir, pool)
