"""The AWS provider's own commands (its "commands" capability): `annex image ...` and the
cloud side of `annex pool ...` (create, update, delete, list)."""

from __future__ import annotations

from collections.abc import Callable

import click

from condor_annex.providers.aws.commands import cloudpool, image


def register(cli: click.Group, say: Callable[[str], None]) -> None:
    image.register(cli, say)
    pool = cli.commands.get("pool")
    if not isinstance(pool, click.Group):
        raise TypeError("the shared CLI has no `pool` group to add cloud pools to")
    cloudpool.register(pool, say)
