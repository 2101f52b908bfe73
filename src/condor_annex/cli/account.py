"""Account-side commands: setup, check-setup, teardown and reap, for any provider with the
"account" (or, for reap, "reaper") capability. Which provider: --provider, else the one
whose options were given (`--region` is AWS's), else ANNEX_DEFAULT_PROVIDER."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import click

from condor_annex.cli.prompt import confirm_or_refuse
from condor_annex.cli.provideroptions import choose, given, provider_options
from condor_annex.interfaces import Scope
from condor_annex.providers import registry

Say = Callable[[str], None]


def _provider_flag(capability: str) -> Callable[..., Any]:
    able = registry.with_capability(capability)
    return click.option(
        "--provider",
        type=click.Choice(able),
        help="Which provider's account [default: the one whose options are given, else "
        "ANNEX_DEFAULT_PROVIDER].",
    )


def _annexes_for(provider: str | None, options: dict[str, Any], capability: str) -> tuple[Any, str]:
    from condor_annex.api import Annexes

    values = given(options)
    api = Annexes(options=values)
    return api, choose(provider, values, capability, api.settings.provider)


def register(cli: click.Group, say: Say) -> None:
    @cli.command()
    @_provider_flag("account")
    @provider_options(Scope.LOCATION, Scope.SETUP)
    def setup(provider: str | None, **options: Any) -> None:
        """Create what annexes need in the provider's account (idempotent)."""
        api, chosen = _annexes_for(provider, options, "account")
        api.account(chosen).setup(say)

    @cli.command("check-setup")
    @_provider_flag("account")
    @provider_options(Scope.LOCATION)
    def check_setup(provider: str | None, **options: Any) -> None:
        """Verify each part of the setup exists and is configured as intended."""
        api, chosen = _annexes_for(provider, options, "account")
        if not api.account(chosen).check_setup(say):
            raise click.exceptions.Exit(1)

    @cli.command()
    @_provider_flag("account")
    @provider_options(Scope.LOCATION)
    @click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
    def teardown(provider: str | None, yes: bool, **options: Any) -> None:
        """Say what will be removed, ask, remove everything, then prove nothing is left."""
        api, chosen = _annexes_for(provider, options, "account")
        if not api.account(chosen).teardown(say, confirm_or_refuse(yes)):
            raise click.exceptions.Exit(1)

    @cli.command()
    @_provider_flag("reaper")
    @provider_options(Scope.LOCATION)
    @click.option("--now", type=float, help="Pretend it is this epoch time (for tests).")
    def reap(provider: str | None, now: float | None, **options: Any) -> None:
        """Run the lease reaper once: end every worker past its lease."""
        api, chosen = _annexes_for(provider, options, "reaper")
        if not api.reaper(chosen).reap(time.time() if now is None else now, say):
            raise click.exceptions.Exit(1)
