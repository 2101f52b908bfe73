"""The local provider's catalogue: worker shapes given as `--shapes 1x512M,2x1536M@0.02`
(CPUs x memory, with an optional nominal price per hour), so the elastic annex planner
runs end to end with real daemons on this machine.

A launch of one decision group starts workers whose ids derive from the request id
(`local-<request>-<n>`), so a launch repeated after its controller was killed finds the
workers it had already started instead of starting them again.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from condor_annex.errors import UsageError
from condor_annex.interfaces import Observation, Seen
from condor_annex.model import AnnexRecord, AnnexRequest, WorkerRecord
from condor_annex.planning import WorkerType
from condor_annex.planning.outcome import Launch
from condor_annex.providers.local.provider import LocalProvider, started
from condor_annex.providers.local.worker import LocalWorker
from condor_annex.workerconfig import WorkerBundle

DEFAULT_SHAPES = "1x1G,2x2G,4x4G"
_SHAPE = re.compile(
    r"^(?P<cpus>\d+)x(?P<memory>\d+(?:\.\d+)?)(?P<unit>[MmGg]?)(?:@(?P<price>\d+(?:\.\d+)?))?$"
)


@dataclass(frozen=True)
class Shape:
    cpus: int
    memory_mb: int
    price_per_hour: float

    @property
    def name(self) -> str:
        return f"{self.cpus}x{self.memory_mb}M"


def parse_shapes(text: str) -> list[Shape]:
    """`1x512M,2x1.5G@0.02` -> shapes; a one-line UsageError naming the bad part."""
    shapes = []
    for part in (p.strip() for p in text.split(",")):
        match = _SHAPE.match(part)
        if not match:
            raise UsageError(
                f"--shapes: {part!r} is not CPUSxMEMORY[@USD], e.g. 1x512M or 2x1.5G@0.02"
            )
        number = float(match["memory"])
        memory = round(number * 1024) if match["unit"].lower() == "g" else round(number)
        shape = Shape(int(match["cpus"]), memory, float(match["price"] or 0))
        if shape.cpus < 1 or shape.memory_mb < 64:
            raise UsageError(f"--shapes: {part!r} needs at least 1 CPU and 64M of memory")
        shapes.append(shape)
    if len({s.name for s in shapes}) != len(shapes):
        raise UsageError(f"--shapes {text!r} names a shape twice")
    return shapes


def request_ids(request_id: str, count: int) -> list[str]:
    return [f"local-{request_id[:8]}-{n}" for n in range(count)]


class LocalCatalogue:
    """The "catalogue" capability of the local provider."""

    def __init__(self, provider: LocalProvider, shapes: str | None) -> None:
        self.provider = provider
        self.shapes = parse_shapes(shapes or DEFAULT_SHAPES)

    def _disk_mb(self) -> int:
        """What a local worker's slot offers as Disk: the free space of the state home."""
        home = self.provider.store.home
        where = home if home.exists() else Path("/")
        return shutil.disk_usage(where).free // (1024 * 1024)

    def worker_types(self) -> list[WorkerType]:
        disk = self._disk_mb()
        return [
            WorkerType(s.name, s.cpus, s.memory_mb, disk_mb=disk, price_per_hour=s.price_per_hour)
            for s in self.shapes
        ]

    def plain_price(self, request: AnnexRequest) -> float | None:
        for s in self.shapes:
            if (s.cpus, s.memory_mb) == (request.cpus, request.memory_mb):
                return s.price_per_hour
        return None

    def launch(
        self, annex: AnnexRecord, bundle: WorkerBundle, launch: Launch, request_id: str
    ) -> list[Observation]:
        worker_type = launch.type  # this machine has every shape: no alternatives needed
        data = {
            "type": worker_type.name,
            "spot": False,
            "price_per_hour": worker_type.price_per_hour,
            "request": request_id,
        }
        found, missing = [], []
        for worker_id in request_ids(request_id, launch.count):
            worker = LocalWorker(self.provider.store.workers_dir, worker_id, "")
            if worker.dir.exists() and not worker.was_started():
                worker.remove()  # half made by a launcher that was killed: make it again
            if not worker.dir.exists():
                missing.append(worker_id)
            elif worker.adopt():
                found.append(started(worker, data))
            else:  # started once and gone since: never started again
                found.append(Observation(worker_id, Seen.ENDED, address=worker.address))
        shaped = replace(bundle, cpus=worker_type.cpus, memory_mb=worker_type.memory_mb)
        fresh = self.provider.start_workers(shaped, missing) if missing else []
        return found + [started(w, data) for w in fresh]

    def lost(self, annex: AnnexRecord, workers: Sequence[WorkerRecord]) -> None:
        """Local workers are never taken away: nothing to avoid."""
