"""SlurmProvider: an annex's workers are pilot jobs, one job array per annex, each task an
HTCondor execute node for the life of its job (compare `htcondor annex create`).

Slurm enforces the hard end itself: each pilot's time limit is the lease plus a short
grace, and the worker also leaves at the lease end, and when idle, by itself; the job then
ends and the allocation is freed. The annex's files (worker configuration, token, lease)
go to a directory of the submitting user's that only that user can read.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from pathlib import Path, PurePosixPath
from typing import Any

from condor_annex.errors import AnnexError, UsageError
from condor_annex.interfaces import Observation, Seen, Timing
from condor_annex.model import AnnexRecord, AnnexRequest
from condor_annex.providers.slurm import partitions, squeue
from condor_annex.providers.slurm.tools import SshTools, Tools
from condor_annex.templates import read
from condor_annex.waiting import wait_for
from condor_annex.workerconfig import WorkerBundle, lease_config, worker_config

# Slurm's time limit is the lease plus this; Slurm checks limits every 30 s and then
# allows KillWait (30 s on the local cluster) for a graceful end.
GRACE_SECONDS = 30
PILOT_UPDATE_INTERVAL = 5
# How long `off` may wait for cancelled pilots to be gone from Slurm.
CANCEL_TIMEOUT = 120.0
TIMING = Timing(
    lease_grace_seconds=GRACE_SECONDS + 30 + 30,
    # A pilot's master advertises a few seconds after its job starts.
    join_wait_seconds=30.0,
    poll_seconds=1.0,
    # Slurm lists ended jobs until MinJobAge, then forgets them.
    unseen_grace_seconds=300.0,
)
PLACEHOLDERS = {"instance_id": "@PILOT_ID@", "dir": "@PILOT_DIR@", "network": "@PILOT_NETWORK@"}


def pilot_config(bundle: WorkerBundle) -> str:
    """The worker configuration every pilot of the annex fills in (its id, its directory,
    its network) when it starts: the same rendering as every provider's workers."""
    return worker_config(
        bundle,
        PLACEHOLDERS["instance_id"],
        Path(PLACEHOLDERS["dir"]),
        PLACEHOLDERS["network"],
        PILOT_UPDATE_INTERVAL,
        family_session=False,
    )


def time_limit_minutes(lease_end: float, now: float) -> int:
    return max(1, math.ceil((lease_end - now + GRACE_SECONDS) / 60))


class SlurmProvider:
    name = "slurm"
    timing = TIMING

    def __init__(
        self, tools: Tools, options: Mapping[str, Any], location: str, files: PurePosixPath
    ) -> None:
        self.tools = tools
        self.location = location
        self.same_host = location == ""
        self.partition: str | None = options.get("partition")
        self.account: str | None = options.get("account")
        self.condor_path: str | None = options.get("condor_path")
        self.condor_module: str | None = options.get("condor_module")
        self.files = files  # where annexes' directories go, as the pilots see it
        self.warnings: list[str] = []

    # -- creating --------------------------------------------------------------------------
    def describe(self, request: AnnexRequest) -> str:
        where = f"on {self.location}" if self.location else "on this machine"
        plural = "s" if request.count != 1 else ""
        minutes = time_limit_minutes(time.time() + request.lease_seconds, time.time())
        return (
            f"Will submit {request.count} pilot job{plural} ({request.cpus} CPU, "
            f"{request.memory_mb} MB each) to Slurm {where}, partition "
            f"{self.partition or '(default)'}, for {request.lease_seconds}s (time limit "
            f"{minutes} min); each leaves after {request.idle_seconds}s idle."
        )

    def prepare(self, request: AnnexRequest) -> None:
        if isinstance(self.tools, SshTools):
            self.tools.check()
        partition = partitions.choose(self.tools, self.partition)
        self.partition = partition.name
        wanted = time_limit_minutes(time.time() + request.lease_seconds, time.time()) * 60
        if partition.max_seconds is not None and wanted > partition.max_seconds:
            raise UsageError(
                f"a lease of {request.lease_seconds}s needs a time limit of {wanted // 60} min, "
                f"but partition {partition.name} allows at most "
                f"{partition.max_seconds / 60:g} min; shorten --duration or choose another "
                "--partition"
            )

    def annex_dir(self, name: str) -> PurePosixPath:
        return self.files / name

    def run_instances(
        self, annex: AnnexRecord, bundle: WorkerBundle, count: int
    ) -> list[Observation]:
        folder = self.annex_dir(annex.name)
        self.tools.write(folder / "worker.config", pilot_config(bundle))
        self.tools.write(folder / "token", bundle.token)
        self.tools.write(folder / "lease.config", lease_config(bundle.lease_end))
        self.tools.write(folder / "pilot.sh", read("pilot.sh", __package__ or ""), mode=0o700)
        self.tools.write(folder / "pilots" / ".keep", "")
        env = {
            "ANNEX_DIR": str(folder),
            "ANNEX_NETWORK": "loopback" if self.same_host else "ccb",
            "ANNEX_CONDOR_PATH": self.condor_path or "",
            "ANNEX_CONDOR_MODULE": self.condor_module or "",
        }
        argv = [
            "sbatch",
            "--parsable",
            f"--array=1-{count}",
            f"--job-name=annex-{annex.name}",
            f"--time={time_limit_minutes(annex.lease_end, time.time())}",
            f"--cpus-per-task={annex.cpus}",
            f"--mem={annex.memory_mb}M",
            f"--chdir={folder}",
            f"--output={folder}/pilots/slurm-%A_%a.out",
            "--export=ALL," + ",".join(f"{k}={v}" for k, v in env.items()),
        ]
        if self.partition:
            argv.append(f"--partition={self.partition}")
        if self.account:
            argv.append(f"--account={self.account}")
        proc = self.tools.run([*argv, str(folder / "pilot.sh")])
        if proc.returncode != 0:
            self._remove_files(annex.name)
            last = (proc.stderr.strip().splitlines() or ["no reason given"])[-1]
            raise AnnexError(f"sbatch refused the pilots on {self.tools.where}: {last}")
        array = proc.stdout.strip().split(";")[0]
        annex.provider_data.update(array=array, partition=self.partition)
        return [
            Observation(f"{array}_{task}", Seen.PENDING, data={"job": f"{array}_{task}"})
            for task in range(1, count + 1)
        ]

    # -- looking ---------------------------------------------------------------------------
    def _arrays(self, annex: AnnexRecord) -> list[str]:
        arrays = {w.id.split("_")[0] for w in annex.workers}
        if annex.provider_data.get("array"):
            arrays.add(str(annex.provider_data["array"]))
        return sorted(arrays)

    def query_instances(self, annex: AnnexRecord) -> list[Observation]:
        arrays = self._arrays(annex)
        if not arrays:
            return []
        proc = self.tools.run(
            ["squeue", "-h", "-r", "-t", "all", "-j", ",".join(arrays), "-o", squeue.FORMAT]
        )
        if proc.returncode != 0 and "Invalid job id" not in proc.stderr:
            last = (proc.stderr.strip().splitlines() or ["no answer"])[-1]
            raise AnnexError(f"squeue failed on {self.tools.where}: {last}")
        return squeue.parse(proc.stdout) if proc.returncode == 0 else []

    def cost(self, annex: AnnexRecord) -> None:
        return None  # an allocation's hours, not dollars

    # -- ending ----------------------------------------------------------------------------
    def terminate_instances(self, annex: AnnexRecord, ids: Sequence[str] | None = None) -> None:
        targets = list(ids) if ids is not None else self._arrays(annex)
        if targets:
            proc = self.tools.run(["scancel", *targets])
            if proc.returncode != 0:
                self.warnings.append(f"scancel: {proc.stderr.strip()[:200]}")
            wait_for(
                lambda: not self._still_there(annex, ids),
                CANCEL_TIMEOUT,
                "the cancelled pilots to end",
                interval=1.0,
            )
        if ids is None:
            self._remove_files(annex.name)

    def _still_there(self, annex: AnnexRecord, ids: Sequence[str] | None) -> bool:
        live = squeue.live(self.query_instances(annex))
        return bool(live if ids is None else set(live) & set(ids))

    def _remove_files(self, name: str) -> None:
        proc = self.tools.run(["rm", "-rf", "--", str(self.annex_dir(name))])
        if proc.returncode != 0:
            self.warnings.append(f"could not remove {self.annex_dir(name)}: {proc.stderr[:200]}")

    # -- renewing --------------------------------------------------------------------------
    def set_lease(self, annex: AnnexRecord, bundle: WorkerBundle) -> None:
        """A longer time limit first (Slurm may refuse it: then nothing changes), then the
        new lease and token for the pilots, which reread them on SIGHUP."""
        minutes = time_limit_minutes(annex.lease_end, time.time())
        # The annex's own partition (Slurm lets its administrators pass the limit; the
        # tool does not).
        partition = partitions.choose(self.tools, annex.provider_data.get("partition"))
        if partition.max_seconds is not None and minutes * 60 > partition.max_seconds:
            raise UsageError(
                f"partition {partition.name} allows at most {partition.max_seconds / 60:g} min; "
                "a lease that long cannot be given here"
            )
        seen = self.query_instances(annex)
        live = squeue.live(seen)
        for job in live:
            proc = self.tools.run(["scontrol", "update", f"JobId={job}", f"TimeLimit={minutes}"])
            if proc.returncode != 0:
                last = (proc.stderr.strip().splitlines() or ["refused"])[-1]
                raise UsageError(
                    f"Slurm did not lengthen pilot {job}'s time limit ({last}); on most clusters "
                    "only administrators may: the annex keeps its lease, create a new one for more"
                )
        folder = self.annex_dir(annex.name)
        self.tools.write(folder / "token", bundle.token)
        self.tools.write(folder / "lease.config", lease_config(bundle.lease_end))
        running = [o.id for o in seen if o.seen == Seen.STARTED]
        if running:
            self.tools.run(["scancel", "--signal=HUP", "--batch", *running])
