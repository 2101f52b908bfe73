"""`annex`: the command line. Each command parses, then calls one method of `Annexes`.

Provider options come from the providers themselves (see cli/provideroptions.py), and a
provider may add command groups of its own (the "commands" capability); nothing here
names a provider. Heavy modules (HTCondor's bindings, cloud SDKs, rich) load inside the
commands, so --help and usage errors stay fast.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from condor_annex.cli.account import register as register_account_commands
from condor_annex.cli.autoscale import register as register_autoscale_command
from condor_annex.cli.params import DURATION, MEMORY, NAME_LIST
from condor_annex.cli.prompt import confirm_or_refuse
from condor_annex.cli.provideroptions import given, provider_options
from condor_annex.cli.replay import register as register_replay_command
from condor_annex.cli.runner import exit_with
from condor_annex.cli.seed import register as register_seed_commands
from condor_annex.interfaces import Scope
from condor_annex.providers import registry

if TYPE_CHECKING:
    from condor_annex.api import Annexes


def say(message: str) -> None:
    click.echo(message)


def console() -> Any:
    from rich.console import Console

    return Console(highlight=False, soft_wrap=True)


def annexes(options: dict[str, dict[str, Any]] | None = None) -> Annexes:
    from condor_annex.api import Annexes

    return Annexes(options=options)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="condor-annex")
def cli() -> None:
    """Add elastic capacity (annexes of workers) to an HTCondor pool.

    Workers join the pool, run its jobs, leave by themselves when idle, and never outlive
    their lease. The local provider runs real HTCondor workers on this machine.
    """


# -- runtime -------------------------------------------------------------------------------
@cli.group()
def runtime() -> None:
    """The HTCondor runtime (native, or a private Debian 13 root)."""


@runtime.command("install")
def runtime_install() -> None:
    """Install HTCondor for condor-annex (idempotent; repairs an interrupted install)."""
    from condor_annex.runtime import install_runtime

    rt = install_runtime(say)
    say(f"HTCondor runtime: {rt.kind}, version {rt.version()}")


# -- pool ----------------------------------------------------------------------------------
@cli.group()
def pool() -> None:
    """Pools: the local one on this machine (up, down) and whole pools in the cloud."""


@pool.command("up")
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=0,
    show_default=True,
    help="Collector port on 127.0.0.1 (0 picks a free one).",
)
def pool_up(port: int) -> None:
    """Start collector, negotiator and schedd, secured with IDTOKENS."""
    info = annexes().pool_up(port=port, say=say)
    say(f"Pool is up: collector at {info.collector}.")


@pool.command("down")
def pool_down() -> None:
    """Stop the pool and its annexes, and remove all their state."""
    annexes().pool_down(say=say)
    say("Pool is down; its state is removed.")


@cli.command("exec", context_settings={"ignore_unknown_options": True})
@click.option("--user", help="Run as this ordinary user (by token), e.g. to submit jobs.")
@click.argument("command", nargs=-1, required=True, type=click.UNPROCESSED)
def exec_(user: str | None, command: tuple[str, ...]) -> None:
    """Run one of HTCondor's tools against the pool: annex exec -- condor_q -allusers"""
    argv = annexes().tool(list(command), user=user, cwd=Path.cwd())
    raise click.exceptions.Exit(subprocess.run(argv, check=False).returncode)


# -- annexes -------------------------------------------------------------------------------
@cli.command()
@click.argument("name")
@click.option("--count", type=int, default=1, show_default=True, help="Number of workers.")
@click.option(
    "--duration",
    type=DURATION,
    help="Lease: 90s, 15m, 2h, 1d or decimal hours "
    "[default: ANNEX_DEFAULT_LEASE_DURATION, else 50m].",
)
@click.option(
    "--idle",
    type=DURATION,
    help="A worker leaves after this long unclaimed "
    "[default: ANNEX_DEFAULT_UNCLAIMED_TIMEOUT, else 15m; never above the lease].",
)
@click.option("--cpus", type=int, default=1, show_default=True, help="CPUs per worker.")
@click.option("--memory", type=MEMORY, default="1G", show_default=True, help="Memory per worker.")
@click.option(
    "--owner",
    "owners",
    type=NAME_LIST,
    help="Run only these users' jobs: alice,bob [default: any job of the pool].",
)
@click.option(
    "--provider",
    type=click.Choice(registry.names()),
    help="Where workers run [default: ANNEX_DEFAULT_PROVIDER, else local].",
)
@click.option(
    "--pool-address",
    help="HOST[:PORT] of the collector as workers reach it [default: the pool's own address].",
)
@click.option(
    "--budget",
    type=click.FloatRange(min=0, min_open=True),
    metavar="USD",
    help="Spend at most this in all; then the annex drains and ends.",
)
@provider_options(Scope.CREATE, Scope.LOCATION)
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
def create(
    name: str,
    count: int,
    duration: int | None,
    idle: int | None,
    cpus: int,
    memory: int,
    owners: tuple[str, ...] | None,
    provider: str | None,
    pool_address: str | None,
    budget: float | None,
    yes: bool,
    **options: Any,
) -> None:
    """Start an annex of COUNT workers named NAME."""
    api = annexes(given(options))
    lease = duration or api.settings.lease_seconds
    if idle is None:
        idle = min(api.settings.idle_seconds, lease)
    request = api.request(name, count, lease, idle, cpus, memory, owners or (), budget)
    record = api.create(
        request, provider, confirm=confirm_or_refuse(yes), say=say, pool_address=pool_address
    )
    say(
        f"Started {len(record.workers)} workers in annex '{name}'. "
        f"See them with: annex status {name}"
    )


@cli.command()
@click.argument("name", required=False)
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@provider_options(Scope.LOCATION)
def status(name: str | None, as_json: bool, **options: Any) -> None:
    """Workers, slots, lease, idle limit and cost of one annex or all."""
    from condor_annex.cli.render import print_status, status_json

    statuses = annexes(given(options)).status(name)
    if as_json:
        click.echo(status_json(statuses))
    else:
        print_status(statuses, console())


@cli.command()
@click.argument("name")
@click.option("--duration", type=DURATION, required=True, help="New lease, counted from now.")
@provider_options(Scope.LOCATION)
def renew(name: str, duration: int, **options: Any) -> None:
    """Move the lease end of a running annex."""
    record = annexes(given(options)).renew(name, duration)
    say(f"Annex '{name}' now ends in {duration}s ({len(record.live_workers)} workers).")


@cli.command()
@click.argument("name")
@click.option("--graceful", is_flag=True, help="Let running jobs finish first.")
@provider_options(Scope.LOCATION)
def off(name: str, graceful: bool, **options: Any) -> None:
    """Turn an annex off now (like condor_off -annex NAME); all workers are gone after."""
    record = annexes(given(options)).off(name, graceful=graceful, say=say)
    say(f"Annex '{name}' is off: {len(record.workers)} workers gone.")


@cli.command()
@click.option("--jobs", type=click.IntRange(1, 200), default=10, show_default=True)
@click.option("--workers", type=click.IntRange(1, 8), default=2, show_default=True)
@click.option(
    "--provider",
    type=click.Choice(registry.names()),
    help="Where the workers run; what it needs here is brought up for the demo "
    "[default: ANNEX_DEFAULT_PROVIDER, else local].",
)
def demo(jobs: int, workers: int, provider: str | None) -> None:
    """Pool, annex, real jobs as an ordinary user, status, cleanup: exit 0 only if all ran."""
    from condor_annex.cli.demo import run_demo

    code = run_demo(console(), jobs=jobs, workers=workers, provider=provider)
    raise click.exceptions.Exit(code)


register_account_commands(cli, say)
register_autoscale_command(cli, say)
register_seed_commands(cli, say)
register_replay_command(cli, say)
registry.add_commands(cli, say)


def main() -> None:
    exit_with(cli, "annex")
