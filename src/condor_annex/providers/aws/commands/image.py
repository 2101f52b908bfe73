"""`annex image ...`: machine images for AWS workers and seeds.

Thin: parse, then call `condor_annex.providers.aws.images.bake`, which checks everything
before it makes anything and cleans up after any failure.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from condor_annex.cli.params import DURATION, NameList
from condor_annex.providers.aws.commands.common import credentials, session_from

Say = Callable[[str], None]
EXTRA_LIST = NameList("docker,python3")


def register(cli: click.Group, say: Say) -> None:
    @cli.group()
    def image() -> None:
        """Machine images (AWS AMIs) with HTCondor for annex workers and seeds."""

    @image.command("build")
    @click.option(
        "--role",
        type=click.Choice(["worker", "seed"]),
        required=True,
        help="worker: an annex execute node; seed: central manager and submit node.",
    )
    @click.option("--base-image", required=True, help="The AMI to start from (Linux).")
    @click.option("--name", help="The new image's name [default: condor-annex-ROLE-DATE].")
    @click.option(
        "--extra",
        "extras",
        type=EXTRA_LIST,
        help="More software: docker, python3, git, gcc (comma-separated).",
    )
    @click.option(
        "--timeout",
        type=DURATION,
        default="30m",
        show_default=True,
        help="How long the builder may take to install and report.",
    )
    @click.option(
        "--no-default",
        is_flag=True,
        help="Do not record a worker image as the region's default worker image.",
    )
    @click.option(
        "--config-file",
        type=click.Path(path_type=Path),
        help="Where to record the region's default worker image [default: ~/.condor/user_config].",
    )
    @credentials
    @click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
    def build(
        role: str,
        base_image: str,
        name: str | None,
        extras: tuple[str, ...] | None,
        timeout: int,
        no_default: bool,
        config_file: Path | None,
        yes: bool,
        **aws: Any,
    ) -> None:
        """Bake an image: one builder instance installs HTCondor for ROLE, is scrubbed and
        scanned for secrets, and is imaged only if the scan is clean. Prints the image id.
        A worker image becomes the region's default worker image (ANNEX_DEFAULT_ODI_IMAGE_ID)
        unless --no-default."""
        from condor_annex.cli.prompt import confirm_or_refuse
        from condor_annex.providers.aws.images.bake import ImageRequest, build_image
        from condor_annex.providers.aws.images.imagedefault import NAME, record_default_image

        session = session_from(aws)
        request = ImageRequest(role, base_image, name or "", extras or (), float(timeout))
        built = build_image(session, request, say, confirm_or_refuse(yes))
        if role == "worker" and not no_default:
            path = record_default_image(session.region_name, built.image_id, config_file)
            say(
                f"Recorded {built.image_id} as {session.region_name}'s default worker image "
                f"({NAME}) in {path}."
            )
        click.echo(built.image_id)
