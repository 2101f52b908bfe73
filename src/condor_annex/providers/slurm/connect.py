"""Building a SlurmProvider: where Slurm's tools run, and where the pilots' files go."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import PurePosixPath
from typing import Any

from condor_annex.errors import UsageError
from condor_annex.interfaces import Context
from condor_annex.names import validate_pool_address
from condor_annex.providers.slurm.localcluster import LocalSlurm
from condor_annex.providers.slurm.provider import SlurmProvider
from condor_annex.providers.slurm.tools import LocalTools, SshTools

NO_SLURM = (
    "no Slurm found on this machine; start the local one with 'annex slurm up', "
    "or give --login HOST for a cluster's login node"
)


def slurm_provider(context: Context, options: Mapping[str, Any], login: str) -> SlurmProvider:
    if options.get("condor_path") and options.get("condor_module"):
        raise UsageError("give --condor-path or --condor-module, not both")
    if login:
        # The same shape as a pool address, so nothing odd reaches ssh's command line.
        host = login.rpartition("@")[2]
        validate_pool_address(host)
        ssh = SshTools(login)
        ssh.check()
        return SlurmProvider(ssh, options, login, ssh.home() / ".condor-annex" / "annexes")
    cluster = LocalSlurm()
    if not cluster.is_up():
        raise UsageError(NO_SLURM)
    # The root sees the state home at the same path; the pilots read their files there.
    cluster.runtime.share(context.store.home)
    files = PurePosixPath(str(context.state_dir("slurm") / "annexes"))
    return SlurmProvider(LocalTools(cluster, context.store.home), options, "", files)
