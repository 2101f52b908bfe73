"""`annex slurm ...`: the local Slurm cluster that condor-annex installs and runs itself.

Thin: parse, then call `LocalSlurm`. `commands(cli, say)` adds the group to a CLI; run as
`python -m condor_annex.providers.slurm.cli COMMAND`, the group stands alone (scripts/bootstrap
installs Slurm that way).
"""

from __future__ import annotations

import time
from collections.abc import Callable

import click

Say = Callable[[str], None]

CPUS = click.IntRange(1, 1024)
MEMORY_MB = click.IntRange(100, 16 * 1024 * 1024)


def commands(cli: click.Group, say: Say) -> None:
    @cli.group()
    def slurm() -> None:
        """A real single-node Slurm on this machine, next to HTCondor (for tests and demos)."""

    @slurm.command("install")
    def install() -> None:
        """Install Slurm and munge where HTCondor is (idempotent)."""
        from condor_annex.providers.slurm.localcluster import LocalSlurm

        cluster = LocalSlurm()
        if not cluster.install(say):
            say(f"Slurm is already installed in {cluster.root}.")
        else:
            say(f"Slurm is installed in {cluster.root}.")

    @slurm.command("up")
    @click.option("--cpus", type=CPUS, default=16, show_default=True, help="CPUs the node offers.")
    @click.option(
        "--memory",
        "memory_mb",
        type=MEMORY_MB,
        default=16000,
        show_default=True,
        help="Memory the node offers, in MB.",
    )
    def up(cpus: int, memory_mb: int) -> None:
        """Start munged, slurmctld and slurmd, and wait until the node takes jobs."""
        from condor_annex.providers.slurm.localcluster import LocalSlurm

        cluster = LocalSlurm(cpus=cpus, memory_mb=memory_mb)
        start = time.monotonic()
        if cluster.up():
            say(f"Slurm is up in {time.monotonic() - start:.1f}s.")
        else:
            say("Slurm is already up.")
        say(cluster.status().line())

    @slurm.command("down")
    def down() -> None:
        """Cancel every job, stop the daemons, and leave no process behind."""
        from condor_annex.providers.slurm.localcluster import LocalSlurm

        stopped = LocalSlurm().down()
        if not stopped.daemons_stopped and not stopped.leftovers_killed:
            say("Slurm was not running.")
            return
        say(
            f"Slurm is down: {stopped.jobs_cancelled} jobs cancelled, "
            f"{stopped.daemons_stopped} daemons stopped, "
            f"{stopped.leftovers_killed} leftover processes killed."
        )

    @slurm.command("status")
    def status() -> None:
        """Which daemons run, the node's state and the partitions."""
        from condor_annex.providers.slurm.localcluster import LocalSlurm

        say(LocalSlurm().status().line())


def main() -> None:
    from condor_annex.cli.runner import exit_with

    group = click.Group(context_settings={"help_option_names": ["-h", "--help"]})
    commands(group, click.echo)
    exit_with(group.commands["slurm"], "annex slurm")  # type: ignore[arg-type]


if __name__ == "__main__":
    main()
