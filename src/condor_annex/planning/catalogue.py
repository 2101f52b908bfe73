"""Worker types (what a provider can start) and the resource arithmetic packing uses."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

_UNBOUNDED = 1 << 62  # "as many as you like" for a resource a request does not use


@dataclass(frozen=True)
class Resources:
    """Room on a worker, or what one job asks for. Memory and disk in MiB (HTCondor's Memory
    is MiB; its Disk is KiB, converted where ads are read or written)."""

    cpus: int = 0
    memory_mb: int = 0
    disk_mb: int = 0
    gpus: int = 0

    def how_many(self, request: Resources) -> int:
        """How many copies of `request` fit in this room: arithmetic, never job by job."""
        # Written out, not looped: the planner calls this for every (autocluster, room) pair.
        count = _UNBOUNDED
        if request.cpus > 0:
            count = self.cpus // request.cpus
        if request.memory_mb > 0:
            count = min(count, self.memory_mb // request.memory_mb)
        if request.disk_mb > 0:
            count = min(count, self.disk_mb // request.disk_mb)
        if request.gpus > 0:
            count = min(count, self.gpus // request.gpus)
        return max(count, 0)

    def minus(self, request: Resources, times: int = 1) -> Resources:
        return Resources(
            self.cpus - request.cpus * times,
            self.memory_mb - request.memory_mb * times,
            self.disk_mb - request.disk_mb * times,
            self.gpus - request.gpus * times,
        )

    def covers(self, other: Resources) -> bool:
        return (
            self.cpus >= other.cpus
            and self.memory_mb >= other.memory_mb
            and self.disk_mb >= other.disk_mb
            and self.gpus >= other.gpus
        )


@dataclass(frozen=True)
class WorkerType:
    """One kind of worker a provider can start: an instance type, or a local shape.

    `memory_mb` and `disk_mb` are what the worker's partitionable slot offers to jobs.
    `price_per_hour` is in USD (nominal for local shapes). `spot` marks a spot offering;
    the same instance type on-demand is another WorkerType.
    """

    name: str
    cpus: int
    memory_mb: int
    disk_mb: int = 100 * 1024
    gpus: int = 0
    price_per_hour: float = 0.0
    spot: bool = False
    arch: str = "X86_64"
    opsys: str = "LINUX"

    @cached_property
    def resources(self) -> Resources:
        return Resources(self.cpus, self.memory_mb, self.disk_mb, self.gpus)

    @property
    def offering(self) -> str:
        """The name with its purchase option, as plans and explanations show it."""
        return f"{self.name} (spot)" if self.spot else self.name

    def to_json(self) -> dict[str, object]:
        return {
            "name": self.name,
            "cpus": self.cpus,
            "memory_mb": self.memory_mb,
            "disk_mb": self.disk_mb,
            "gpus": self.gpus,
            "price_per_hour": self.price_per_hour,
            "spot": self.spot,
            "arch": self.arch,
            "opsys": self.opsys,
        }
