"""`annex pool create/update/delete/list`: whole pools in the cloud, one stack each.

They sit beside the local pool's `up`/`down` in the same `annex pool` group. The work is
in condor_annex.providers.aws.pools.poolstack; these commands parse, call it, and print.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import click

from condor_annex.cli.prompt import confirm_or_refuse
from condor_annex.providers.aws.commands.common import credentials, session_from

Say = Callable[[str], None]


def _provider(command: Callable[..., Any]) -> Callable[..., Any]:
    """--provider (only aws has pools in the cloud) plus the shared credential options."""
    command = credentials(command)
    return click.option(
        "--provider",
        type=click.Choice(["aws"]),
        default="aws",
        show_default=True,
        help="Where the pool runs.",
    )(command)


def _confirm(yes: bool) -> Callable[[str], bool]:
    return confirm_or_refuse(yes)


def _yes(command: Callable[..., Any]) -> Callable[..., Any]:
    return click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")(command)


def register(pool: click.Group, say: Say) -> None:
    @pool.command("create")
    @click.argument("name")
    @click.option("--control-image", required=True, help="AMI of the seed (HTCondor installed).")
    @click.option("--worker-image", required=True, help="AMI of the workers.")
    @click.option(
        "--workers",
        type=click.IntRange(1),
        default=2,
        show_default=True,
        help="Size of the first annex, in the `annex create` line printed at the end.",
    )
    @click.option("--admin-cidr", help="The network you ssh from, e.g. 203.0.113.7/32 (required).")
    @click.option(
        "--instance-type",
        default="m7i.large",
        show_default=True,
        help="The seed's instance type (always on-demand).",
    )
    @click.option(
        "--instance-policy",
        "instance_policy",
        default="",
        help="IAM policy ARN for the pool's workers' roles (what jobs may do in AWS).",
    )
    @click.option("--key-name", default="", help="EC2 key pair for ssh to the seed.")
    @click.option(
        "--allow-world",
        is_flag=True,
        help="Also open the seed's port 9618 to 0.0.0.0/0 (not recommended).",
    )
    @_provider
    @_yes
    def pool_create(
        name: str,
        control_image: str,
        worker_image: str,
        workers: int,
        admin_cidr: str | None,
        instance_type: str,
        instance_policy: str,
        key_name: str,
        allow_world: bool,
        provider: str,
        yes: bool,
        **aws: Any,
    ) -> None:
        """Create pool NAME in the cloud: seed, address, recovery, security, role."""
        from condor_annex.providers.aws.pools.poollist import how_to_use, pool_summary
        from condor_annex.providers.aws.pools.poolstack import PoolRequest, create_pool

        session = session_from(aws)
        request = PoolRequest(
            name=name,
            control_image=control_image,
            worker_image=worker_image,
            admin_cidr=admin_cidr,
            instance_type=instance_type,
            instance_policy=instance_policy,
            allow_world=allow_world,
            key_name=key_name,
        )
        made = create_pool(session, request, say, _confirm(yes))
        for line in how_to_use(made, pool_summary(session, made), workers):
            say(line)

    @pool.command("update")
    @click.argument("name")
    @click.option("--worker-image", help="New AMI of the workers.")
    @click.option("--control-image", help="New AMI of the seed (replaces the seed).")
    @_provider
    @_yes
    def pool_update(
        name: str,
        worker_image: str | None,
        control_image: str | None,
        provider: str,
        yes: bool,
        **aws: Any,
    ) -> None:
        """Change pool NAME's images, and nothing else, through a change set."""
        from condor_annex.providers.aws.pools.poolstack import update_pool

        pool = update_pool(
            session_from(aws),
            name,
            say,
            _confirm(yes),
            worker_image=worker_image,
            control_image=control_image,
        )
        say(f"Pool {pool.name}: seed image {pool.control_image}, worker image {pool.worker_image}.")

    @pool.command("delete")
    @click.argument("name")
    @_provider
    @_yes
    def pool_delete(name: str, provider: str, yes: bool, **aws: Any) -> None:
        """Remove pool NAME and everything it made, its annexes too; then list what is left."""
        from condor_annex.providers.aws.pools.poolstack import delete_pool

        left = delete_pool(session_from(aws), name, say, _confirm(yes))
        if left.empty:
            say(f"Nothing of pool {name} is left in {left.region}.")
            return
        for line in left.lines():
            say(line)
        raise click.exceptions.Exit(1)

    @pool.command("list")
    @click.option("--json", "as_json", is_flag=True, help="Print JSON instead of lines.")
    @_provider
    def pool_list(as_json: bool, provider: str, **aws: Any) -> None:
        """The pools in the cloud: images, seed address, annexes and their live workers."""
        from condor_annex.providers.aws.pools.poollist import pool_summaries

        summaries = pool_summaries(session_from(aws))
        if as_json:
            click.echo(json.dumps([s.to_json() for s in summaries], indent=2))
            return
        if not summaries:
            say("No pools in the cloud.")
            return
        for s in summaries:
            annexes = ", ".join(f"{a} ({n})" for a, n in s.annexes.items()) or "none"
            say(
                f"{s.name}  {s.status}  seed {s.seed_address or '-'}"
                + (f" ({s.seed_dns})" if s.seed_dns else "")
            )
            say(f"  images: control {s.control_image}, workers {s.worker_image}")
            say(f"  annexes: {annexes}; {s.workers} live worker(s)")
