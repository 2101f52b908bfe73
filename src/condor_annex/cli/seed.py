"""`annex seed configure`: make this HTCondor installation a seed (see condor_annex.seed)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import click

from condor_annex.errors import UsageError

Say = Callable[[str], None]
DEFAULT_HOOK_DIR = Path("/usr/local/libexec/condor-annex")


def _from_config(name: str, flag: str) -> str:
    from condor_annex.settings import param

    value = param(name)
    if value is None:
        raise UsageError(f"HTCondor config has no {name}; pass {flag}")
    return value.split(",")[0].strip()


def register(cli: click.Group, say: Say) -> None:
    @cli.group()
    def seed() -> None:
        """This machine as a seed: central manager plus submit node for annexes."""

    @seed.command("configure")
    @click.option(
        "--config-dir",
        type=click.Path(path_type=Path),
        help="Where the seed's config goes [default: LOCAL_CONFIG_DIR].",
    )
    @click.option(
        "--password-dir",
        type=click.Path(path_type=Path),
        help="Signing keys [default: SEC_PASSWORD_DIRECTORY].",
    )
    @click.option(
        "--token-dir",
        type=click.Path(path_type=Path),
        help="The daemons' tokens [default: SEC_TOKEN_SYSTEM_DIRECTORY].",
    )
    @click.option(
        "--hook-dir",
        type=click.Path(path_type=Path),
        default=DEFAULT_HOOK_DIR,
        show_default=True,
        help="Where the start-up hook goes.",
    )
    @click.option(
        "--annex-domain",
        help="The domain of annex workers' identities [default: annex.UID_DOMAIN].",
    )
    @click.option(
        "--systemd-dir",
        type=click.Path(path_type=Path),
        help="Where the condor.service drop-in goes [default: /etc/systemd/system when "
        "systemd runs here; none otherwise].",
    )
    def configure(
        config_dir: Path | None,
        password_dir: Path | None,
        token_dir: Path | None,
        hook_dir: Path,
        annex_domain: str | None,
        systemd_dir: Path | None,
    ) -> None:
        """Write the seed role (idempotent; an existing signing key is kept)."""
        from condor_annex import seed as seedrole
        from condor_annex import settings
        from condor_annex.runtime import get_runtime

        # The master runs the annex controller only where it can run this Python: not from
        # the tool's private HTCondor root (the tool's own supervisor runs it there).
        native = get_runtime().kind == "native"
        if not annex_domain:
            annex_domain = f"annex.{_from_config('UID_DOMAIN', '--annex-domain')}"
        layout = seedrole.SeedLayout(
            config_dir=config_dir or _from_config("LOCAL_CONFIG_DIR", "--config-dir"),
            password_dir=password_dir or _from_config("SEC_PASSWORD_DIRECTORY", "--password-dir"),
            token_dir=token_dir or _from_config("SEC_TOKEN_SYSTEM_DIRECTORY", "--token-dir"),
            hook_dir=hook_dir,
            annex_domain=annex_domain,
            systemd_dir=systemd_dir or seedrole.systemd_dir(),
            autoscaler=seedrole.Autoscaler.here(settings.state_home()) if native else None,
        )
        try:
            report = seedrole.configure_seed(layout)
        except OSError as err:
            raise UsageError(
                f"cannot write {err.filename}: {err.strerror}; check the path (and run as root)"
            ) from None
        for line in report.lines():
            say(line)
        say(seedrole.run_hook(layout))
        say("Reconfigure or restart HTCondor to apply (condor_reconfig).")
