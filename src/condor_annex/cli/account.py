"""Account-side commands: setup, check-setup, teardown and reap, per provider.

The local provider needs no account; these commands say so (and `reap` runs the local
reaper once). For AWS they call `condor_annex.providers.aws`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from condor_annex.api import Annexes
from condor_annex.cli import awsoptions

Say = Callable[[str], None]


def aws_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """--provider plus the shared credential options, on every command here."""
    command = awsoptions.credentials(command)
    return click.option(
        "--provider",
        type=click.Choice(["local", "aws"]),
        default="aws",
        show_default=True,
        help="Which provider's account to act on.",
    )(command)


def _session(region: str | None, access: Path | None, secret: Path | None) -> Any:
    from condor_annex.providers.aws import aws_session

    return aws_session(region, access, secret)


def register(cli: click.Group, say: Say) -> None:
    @cli.command()
    @aws_options
    @click.option(
        "--config-file",
        type=click.Path(path_type=Path),
        help="Where to record the region's ANNEX_DEFAULT_* values "
        "[default: ~/.condor/user_config].",
    )
    def setup(
        provider: str,
        region: str | None,
        access_key_file: Path | None,
        secret_key_file: Path | None,
        config_file: Path | None,
    ) -> None:
        """Create the cloud-side parts condor-annex needs (idempotent)."""
        if provider == "local":
            say("The local provider needs no account setup; 'annex runtime install' is all.")
            return
        from condor_annex.providers.aws import setup as aws_setup
        from condor_annex.providers.aws.account.condorconfig import default_user_config

        session = _session(region, access_key_file, secret_key_file)
        aws_setup(session, say, config_file=config_file or default_user_config())

    @cli.command("check-setup")
    @aws_options
    def check_setup(
        provider: str,
        region: str | None,
        access_key_file: Path | None,
        secret_key_file: Path | None,
    ) -> None:
        """Verify each cloud-side part exists and is configured as intended."""
        if provider == "local":
            Annexes().runtime  # noqa: B018 - raises a one-line error if HTCondor is missing
            say("Checking for the HTCondor runtime... OK.")
            return
        from condor_annex.providers.aws import check_setup as aws_check

        results = aws_check(_session(region, access_key_file, secret_key_file), say)
        if not all(r.ok for r in results):
            raise click.exceptions.Exit(1)

    @cli.command()
    @aws_options
    def teardown(
        provider: str,
        region: str | None,
        access_key_file: Path | None,
        secret_key_file: Path | None,
    ) -> None:
        """Remove everything condor-annex made, then prove nothing is left."""
        if provider == "local":
            Annexes().pool_down()
            say("Local pool and annexes removed.")
            return
        from condor_annex.providers.aws import teardown as aws_teardown

        inventory = aws_teardown(_session(region, access_key_file, secret_key_file), say)
        for line in inventory.lines():
            say(line)
        if not inventory.empty:
            raise click.exceptions.Exit(1)

    @cli.command()
    @aws_options
    @click.option("--now", type=float, help="Pretend it is this epoch time (for tests).")
    def reap(
        provider: str,
        region: str | None,
        access_key_file: Path | None,
        secret_key_file: Path | None,
        now: float | None,
    ) -> None:
        """Run the lease reaper once: end every worker past its lease."""
        when = time.time() if now is None else now
        if provider == "local":
            from condor_annex.providers.local.reaper import reap_once

            alive = reap_once(Annexes().store, when)
            say(f"Local reaper: {alive} workers within their lease.")
            return
        from condor_annex.providers.aws import reap_now

        report = reap_now(_session(region, access_key_file, secret_key_file), when)
        for line in report.lines():
            say(line)
        if report.errors:
            raise click.exceptions.Exit(1)
