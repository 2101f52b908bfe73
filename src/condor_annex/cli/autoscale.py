"""`annex autoscale NAME`: an elastic annex, grown from the queue's demand by its controller."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

from condor_annex.cli.params import DURATION, NAME_LIST
from condor_annex.cli.prompt import confirm_or_refuse
from condor_annex.cli.provideroptions import given, provider_options
from condor_annex.interfaces import Scope
from condor_annex.providers import registry

Say = Callable[[str], None]
USD = click.FloatRange(min=0, min_open=True)


def register(cli: click.Group, say: Say) -> None:
    @cli.command()
    @click.argument("name")
    @click.option(
        "--provider",
        type=click.Choice(registry.with_capability("catalogue")),
        help="Where workers run [default: ANNEX_DEFAULT_PROVIDER, else local].",
    )
    @click.option("--max-workers", type=click.IntRange(0), help="At most this many workers.")
    @click.option("--max-cpus", type=click.IntRange(0), help="At most this many CPUs in all.")
    @click.option("--max-gpus", type=click.IntRange(0), help="At most this many GPUs in all.")
    @click.option("--max-cost-per-hour", type=USD, metavar="USD", help="Cap on the burn rate.")
    @click.option("--budget", type=USD, metavar="USD", help="Total budget; then it drains, ends.")
    @click.option(
        "--duration",
        type=DURATION,
        help="Lease, the hard end [default: ANNEX_DEFAULT_LEASE_DURATION, else 50m].",
    )
    @click.option(
        "--idle",
        type=DURATION,
        help="A worker goes after this long unclaimed [default: ANNEX_DEFAULT_UNCLAIMED_TIMEOUT].",
    )
    @click.option(
        "--min-life", type=DURATION, default="10m", show_default=True, help="No worker goes sooner."
    )
    @click.option(
        "--interval", type=DURATION, default="60s", show_default=True, help="How often it decides."
    )
    @click.option(
        "--owner", "owners", type=NAME_LIST, help="Grow only for these users' jobs: alice,bob."
    )
    @click.option(
        "--pool-address",
        help="HOST[:PORT] of the collector as workers reach it [default: the pool's own address].",
    )
    @provider_options(Scope.CREATE, Scope.LOCATION)
    @click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
    def autoscale(
        name: str,
        provider: str | None,
        max_workers: int | None,
        max_cpus: int | None,
        max_gpus: int | None,
        max_cost_per_hour: float | None,
        budget: float | None,
        duration: int | None,
        idle: int | None,
        min_life: int,
        interval: int,
        owners: tuple[str, ...] | None,
        pool_address: str | None,
        yes: bool,
        **options: Any,
    ) -> None:
        """Create an elastic annex NAME: no workers now; it grows as idle jobs need, shrinks
        to zero, and stays within its caps and budget."""
        from condor_annex.api import Annexes
        from condor_annex.autoscale.creating import ElasticRequest

        api = Annexes(options=given(options))
        lease = duration or api.settings.lease_seconds
        request = ElasticRequest(
            name=name,
            lease_seconds=lease,
            idle_seconds=idle or min(api.settings.idle_seconds, lease),
            min_life_seconds=min_life,
            interval_seconds=interval,
            owners=owners or (),
            budget_usd=budget,
            max_workers=max_workers,
            max_cpus=max_cpus,
            max_gpus=max_gpus,
            max_cost_per_hour=max_cost_per_hour,
            pool_address=pool_address,
        )
        api.autoscale(request, provider, confirm=confirm_or_refuse(yes), say=say)
        say(f"Elastic annex '{name}' is created with no workers; see it with: annex status {name}")
