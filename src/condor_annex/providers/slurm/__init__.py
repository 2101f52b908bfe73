"""The Slurm provider: an annex's workers are pilot jobs on a Slurm cluster (one job array
per annex), each an HTCondor execute node for the life of its job, as `htcondor annex`
gives a pool capacity on HPC allocations. Slurm's tools run on this machine (the local
cluster of `annex slurm up`) or on a login host over ssh (--login).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any

from condor_annex.interfaces import Context, Option, Scope

if TYPE_CHECKING:
    import click

    from condor_annex.interfaces import Provider

NAME = "slurm"
SUMMARY = "pilot jobs on a Slurm cluster, here or through a login host (--login)"
OPTIONS: tuple[Option, ...] = (
    Option("--partition", "Slurm partition for the pilots [default: the cluster's default]."),
    Option("--account", "Slurm account to charge the pilots to [default: yours]."),
    Option(
        "--login",
        "Run Slurm's commands on this login host over ssh (your own ssh configuration) "
        "[default: this machine's local Slurm].",
        metavar="HOST",
        scope=Scope.LOCATION,
    ),
    Option(
        "--condor-path",
        "Where HTCondor is installed on the cluster (its bin/ and sbin/ go on PATH) "
        "[default: on the pilots' PATH; here, the runtime's root].",
        metavar="DIR",
    ),
    Option(
        "--condor-module",
        "An environment module that provides HTCondor on the cluster (module load NAME).",
        metavar="NAME",
    ),
)
CAPABILITIES = frozenset({"renew", "commands", "standalone"})


def open_provider(context: Context, options: Mapping[str, Any], location: str) -> Provider:
    from condor_annex.providers.slurm.connect import slurm_provider

    return slurm_provider(context, options, location or options.get("login") or "")


def add_commands(cli: click.Group, say: Callable[[str], None]) -> None:
    from condor_annex.providers.slurm.cli import commands

    commands(cli, say)


def open_standalone(
    context: Context, options: Mapping[str, Any], say: Callable[[str], None]
) -> AbstractContextManager[None]:
    from condor_annex.providers.slurm.localcluster import running

    return running(say)
