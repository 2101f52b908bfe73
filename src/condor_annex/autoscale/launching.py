"""Launching one decision group, so that a controller killed at any moment never launches
twice: the request id is written to the record before the provider is asked, the
provider's launch is idempotent per request id, and a restarted controller finishes a
launch it finds written but not done by asking again with the same id.

New workers hold their room for the jobs they were launched for during their first
intervals in the pool (`reservation`): Kubernetes nominates a node to the pods it was
made for in the same way.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

from condor_annex.autoscale.state import ControllerState
from condor_annex.interfaces import Catalogue, Observation, Provider
from condor_annex.lifecycle import GoneReason
from condor_annex.planning import Launch, Resources, WorkerType
from condor_annex.settle import mark_ended, settle
from condor_annex.store import Store
from condor_annex.workerconfig import WorkerBundle

Log = Callable[[str], None]
SHAPE = "shape"  # a worker's WorkerType, kept in its provider data (the catalogue may drop it)


def launch_json(launch: Launch, request_id: str, now: float) -> dict[str, Any]:
    return {
        "request": request_id,
        "type": launch.type.to_json(),
        "count": launch.count,
        "alternatives": [t.to_json() for t in launch.alternatives],
        "for": dict(launch.for_autoclusters),
        "at": now,
    }


def launch_of(data: dict[str, Any]) -> Launch:
    chosen = WorkerType(**data["type"])
    others = tuple(WorkerType(**t) for t in data.get("alternatives", []))
    return Launch(chosen, int(data["count"]), others or (chosen,), tuple(data["for"].items()))


def reservation(launch: Launch, requests: Mapping[str, Resources]) -> str:
    """The jobs a launch is for, as a START condition: at least as large as the smallest
    of them (HTCondor would otherwise give a new large worker to small jobs that a small
    worker was launched for, and leave the large jobs waiting)."""
    wanted = [requests[ac] for ac, _jobs in launch.for_autoclusters if ac in requests]
    if not wanted:
        return ""
    parts = [f"TARGET.RequestCpus >= {min(r.cpus for r in wanted)}"]
    memory, gpus = min(r.memory_mb for r in wanted), min(r.gpus for r in wanted)
    if memory:
        parts.append(f"TARGET.RequestMemory >= {memory}")
    if gpus:
        parts.append(f"TARGET.RequestGPUs >= {gpus}")
    return " && ".join(parts)


def elastic_bundle(bundle: WorkerBundle, backstop_idle_s: int) -> WorkerBundle:
    """The annex's bundle for its elastic workers: one partitionable slot whose size the
    provider sets (or HTCondor detects), and the backstop idle time."""
    return replace(bundle, partitionable=True, cpus=0, memory_mb=0, idle_seconds=backstop_idle_s)


class Launcher:
    """Makes launches of one annex, recording each in the annex's record."""

    def __init__(
        self, store: Store, name: str, provider: Provider, catalogue: Catalogue, log: Log
    ) -> None:
        self.store = store
        self.name = name
        self.provider = provider
        self.catalogue = catalogue
        self.log = log

    def start(self, launch: Launch, bundle: WorkerBundle) -> int:
        """Record the launch, make it, record what it started; returns how many started."""
        request_id = uuid.uuid4().hex
        with self.store.editing(self.name) as record:
            state = ControllerState.of(record)
            if state is None or record.off_requested or state.ended:
                return 0  # turned off meanwhile: launch nothing
            state.pending = launch_json(launch, request_id, time.time())
            state.save(record)
        return self._make(launch, bundle, request_id)

    def resume(self, bundle: WorkerBundle) -> int:
        """Finish a launch a killed controller left written but not done."""
        record = self.store.load_annex(self.name)
        state = ControllerState.of(record)
        if state is None or state.pending is None:
            return 0
        pending = state.pending
        self.log(f"finishing launch {pending['request']} left by a stopped controller")
        return self._make(launch_of(pending), bundle, str(pending["request"]))

    def _make(self, launch: Launch, bundle: WorkerBundle, request_id: str) -> int:
        record = self.store.load_annex(self.name)
        try:
            seen = self.catalogue.launch(record, bundle, launch, request_id)
        except Exception as err:
            # Nothing was started (the catalogue's promise): forget the launch; the next
            # plan decides again, without any offering the catalogue now avoids.
            self._done(request_id, launch, [], f"failed: {err}")
            raise
        self._done(request_id, launch, seen, "")
        return sum(1 for o in seen if o.data.get("request") == request_id)

    def _done(self, request_id: str, launch: Launch, seen: list[Observation], error: str) -> None:
        now = time.time()
        with self.store.editing(self.name) as record:
            state = ControllerState.of(record)
            assert state is not None
            settle(record, seen, now, self.provider.timing)
            started = [o for o in seen if o.data.get("request") == request_id]
            shapes = {t.name: t for t in launch.alternatives}
            for worker in record.workers:
                chosen = shapes.get(str(worker.data.get("type")))
                if worker.data.get("request") == request_id and chosen is not None:
                    worker.data.setdefault(SHAPE, chosen.to_json())
            types = sorted({str(o.data.get("type", launch.type.name)) for o in started})
            state.pending = None
            state.launches.append(
                {
                    "request": request_id,
                    "type": ",".join(types) or launch.type.name,
                    "count": launch.count,
                    "started": len(started),
                    "for": dict(launch.for_autoclusters),
                    "at": now,
                    "error": error[:300],
                }
            )
            state.save(record)
            turned_off = record.off_requested
        if turned_off and started:
            # `annex off` came while the provider was starting these: end them too.
            ids = [o.id for o in started]
            self.provider.terminate_instances(self.store.load_annex(self.name), ids)
            with self.store.editing(self.name) as record:
                mark_ended(record, ids, GoneReason.OFF)
