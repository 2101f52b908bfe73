"""`annex`: the command line. Each command parses, then calls one method of `Annexes`."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import click
from rich.console import Console

from condor_annex.api import Annexes
from condor_annex.cli import awsoptions, cloudpool
from condor_annex.cli.account import register as register_account_commands
from condor_annex.cli.image import register as register_image_commands
from condor_annex.cli.params import DURATION, MEMORY, NAME_LIST
from condor_annex.cli.render import print_status, status_json
from condor_annex.cli.runner import exit_with
from condor_annex.cli.seed import register as register_seed_commands
from condor_annex.errors import UsageError
from condor_annex.providers import KNOWN

console = Console(stderr=False, highlight=False, soft_wrap=True)


def say(message: str) -> None:
    console.print(message, markup=False)


def confirm_or_refuse(yes: bool):  # type: ignore[no-untyped-def]
    """--yes skips the question; without a terminal to ask on, refuse rather than guess."""

    def confirm(_summary: str) -> bool:
        if yes:
            return True
        if not sys.stdin.isatty():
            raise UsageError("not confirmed; pass --yes to go ahead without a prompt")
        return click.confirm("Is that OK?", default=False)

    return confirm


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
    info = Annexes().pool_up(port=port, say=say)
    say(f"Pool is up: collector at {info.collector}.")


@pool.command("down")
def pool_down() -> None:
    """Stop the pool and its local annexes, and remove all their state."""
    Annexes().pool_down()
    say("Pool is down; its state is removed.")


@cli.command("exec", context_settings={"ignore_unknown_options": True})
@click.option("--user", help="Run as this ordinary user (by token), e.g. to submit jobs.")
@click.argument("command", nargs=-1, required=True, type=click.UNPROCESSED)
def exec_(user: str | None, command: tuple[str, ...]) -> None:
    """Run one of HTCondor's tools against the pool: annex exec -- condor_q -allusers"""
    argv = Annexes().tool(list(command), user=user, cwd=Path.cwd())
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
    type=click.Choice(KNOWN),
    help="Where workers run [default: ANNEX_DEFAULT_PROVIDER, else local].",
)
@awsoptions.launch
@awsoptions.credentials
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
    yes: bool,
    pool_address: str | None,
    **aws: Any,
) -> None:
    """Start an annex of COUNT workers named NAME."""
    annexes = Annexes(aws=awsoptions.aws_options(aws))
    lease = duration or annexes.settings.lease_seconds
    if idle is None:
        idle = min(annexes.settings.idle_seconds, lease)
    request = annexes.request(name, count, lease, idle, cpus, memory, owners or ())
    record = annexes.create(
        request, provider, confirm=confirm_or_refuse(yes), say=say, pool_address=pool_address
    )
    say(
        f"Started {len(record.workers)} workers in annex '{name}'. "
        f"See them with: annex status {name}"
    )


@cli.command()
@click.argument("name", required=False)
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@awsoptions.credentials
def status(name: str | None, as_json: bool, **aws: Any) -> None:
    """Workers, slots, lease, idle limit and cost of one annex or all."""
    statuses = Annexes(aws=awsoptions.aws_options(aws)).status(name)
    if as_json:
        click.echo(status_json(statuses))
    else:
        print_status(statuses, console)


@cli.command()
@click.argument("name")
@click.option("--duration", type=DURATION, required=True, help="New lease, counted from now.")
@awsoptions.credentials
def renew(name: str, duration: int, **aws: Any) -> None:
    """Move the lease end of a running annex."""
    record = Annexes(aws=awsoptions.aws_options(aws)).renew(name, duration)
    say(f"Annex '{name}' now ends in {duration}s ({len(record.live_workers)} workers).")


@cli.command()
@click.argument("name")
@click.option("--graceful", is_flag=True, help="Let running jobs finish first.")
@awsoptions.credentials
def off(name: str, graceful: bool, **aws: Any) -> None:
    """Turn an annex off now (like condor_off -annex NAME); all workers are gone after."""
    record = Annexes(aws=awsoptions.aws_options(aws)).off(name, graceful=graceful, say=say)
    say(f"Annex '{name}' is off: {len(record.workers)} workers gone.")


@cli.command()
@click.option("--jobs", type=click.IntRange(1, 200), default=10, show_default=True)
@click.option("--workers", type=click.IntRange(1, 8), default=2, show_default=True)
def demo(jobs: int, workers: int) -> None:
    """Pool, annex, real jobs as an ordinary user, status, cleanup: exit 0 only if all ran."""
    from condor_annex.cli.demo import run_demo

    raise click.exceptions.Exit(run_demo(console, jobs=jobs, workers=workers))


register_account_commands(cli, say)
register_seed_commands(cli, say)
register_image_commands(cli, say)
cloudpool.register(pool, say)


def main() -> None:
    exit_with(cli, "annex")
