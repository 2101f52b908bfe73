"""Small builders for planner inputs: autocluster ads as condor_submit makes them, types,
workers."""

from __future__ import annotations

import classad2

from condor_annex.planning import IdleAutocluster, Resources, Worker, WorkerType

REQUIREMENTS = (
    '(TARGET.Arch == "X86_64") && (TARGET.OpSys == "LINUX") && (TARGET.Disk >= RequestDisk)'
    " && (TARGET.Memory >= RequestMemory) && (TARGET.Cpus >= RequestCpus)"
    " && (TARGET.GPUs >= RequestGPUs) && (TARGET.HasFileTransfer)"
)


def autocluster(
    number: int,
    jobs: int,
    cpus: int = 1,
    memory_mb: int = 512,
    gpus: int = 0,
    owner: str = "alice",
    requirements: str = REQUIREMENTS,
) -> IdleAutocluster:
    ad = classad2.ClassAd(
        {
            "AutoClusterId": number,
            "JobCount": jobs,
            "RequestCpus": cpus,
            "RequestMemory": memory_mb,
            "RequestDisk": 1024 * 1024,  # KiB: 1 GiB
            "RequestGPUs": gpus,
            "Owner": owner,
        }
    )
    ad["Requirements"] = classad2.ExprTree(requirements)
    return IdleAutocluster.from_ad(ad, "schedd")


def wtype(name: str, cpus: int, memory_mb: int, price: float, gpus: int = 0) -> WorkerType:
    return WorkerType(name, cpus, memory_mb, disk_mb=100 * 1024, gpus=gpus, price_per_hour=price)


SMALL = wtype("small", 1, 1024, 0.05)
MEDIUM = wtype("medium", 2, 2048, 0.09)
LARGE = wtype("large", 4, 8192, 0.20)
GPU = wtype("gpu", 4, 16384, 0.04, gpus=1)  # cheaper than everything: must still be avoided
CATALOGUE = [SMALL, MEDIUM, LARGE, GPU]


def running(
    worker_id: str,
    worker_type: WorkerType,
    free: Resources | None = None,
    claimed: bool = False,
    started_at: float = 0.0,
    unclaimed_since: float | None = 0.0,
) -> Worker:
    return Worker(
        worker_id,
        worker_type,
        worker_type.resources if free is None else free,
        claimed=claimed,
        started_at=started_at,
        unclaimed_since=None if claimed else unclaimed_since,
    )
