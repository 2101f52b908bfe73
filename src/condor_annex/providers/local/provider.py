"""LocalProvider: starts workers as detached condor_master trees and reports what became
of them.

`observe()` is the one place that looks at local workers; status queries and the reaper
both call it, so they always agree. A worker past its lease plus a short grace is killed
there: the backstop for a worker that did not leave by itself.
"""

from __future__ import annotations

import contextlib
import fcntl
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from condor_annex.interfaces import Observation, Seen, Timing
from condor_annex.lifecycle import GoneReason
from condor_annex.model import AnnexRecord, AnnexRequest, WorkerRecord
from condor_annex.providers.local.addresses import free_addresses
from condor_annex.providers.local.worker import LocalWorker, used_addresses
from condor_annex.runtime import get_runtime
from condor_annex.store import Store
from condor_annex.workerconfig import WorkerBundle

# After lease end plus this, the reaper kills a worker that has not left by itself.
LEASE_GRACE_SECONDS = 4.0
TIMING = Timing(
    lease_grace_seconds=LEASE_GRACE_SECONDS,
    # Local workers start in about a second; their master ads follow within seconds.
    join_wait_seconds=20.0,
    poll_seconds=0.25,
    # Every worker of the record is looked at directly; none goes unseen.
    unseen_grace_seconds=60.0,
)


class LocalProvider:
    name = "local"
    location = ""
    same_host = True
    timing = TIMING

    def __init__(self, store: Store, state_dir: Path) -> None:
        self.store = store
        self.state_dir = state_dir
        self.warnings: list[str] = []

    def describe(self, request: AnnexRequest) -> str:
        plural = "s" if request.count != 1 else ""
        return (
            f"Will start {request.count} local worker{plural} ({request.cpus} CPU, "
            f"{request.memory_mb} MB each) in annex '{request.name}' for "
            f"{request.lease_seconds}s; each leaves after {request.idle_seconds}s idle."
        )

    def prepare(self, request: AnnexRequest) -> None:
        get_runtime()  # a one-line error naming the fix if HTCondor is not installed

    def cost(self, annex: AnnexRecord) -> None:
        return None  # this machine's own capacity

    @contextlib.contextmanager
    def _addresses(self) -> Iterator[Iterator[str]]:
        """Free loopback addresses, under a lock of this provider's own (choosing and
        reserving are local file operations only)."""
        self.state_dir.mkdir(parents=True, exist_ok=True)
        with (self.state_dir / "addresses.lock").open("a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield free_addresses(used_addresses(self.store.workers_dir))
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def run_instances(
        self, annex: AnnexRecord, bundle: WorkerBundle, count: int
    ) -> list[Observation]:
        ids = [f"local-{secrets.token_hex(4)}" for _ in range(count)]
        return [started(w) for w in self.start_workers(bundle, ids)]

    def start_workers(self, bundle: WorkerBundle, ids: Sequence[str]) -> list[LocalWorker]:
        """Start one worker per id; on failure none of them is left behind."""
        runtime = get_runtime()
        runtime.share(self.store.home)
        workers: list[LocalWorker] = []
        try:
            for worker_id in ids:
                with self._addresses() as free:
                    worker = LocalWorker(self.store.workers_dir, worker_id, next(free))
                    worker.reserve()
                workers.append(worker)
                worker.write_files(runtime, bundle)
                worker.start(runtime)
        except BaseException:
            for worker in workers:  # nothing half-made is left behind
                worker.remove()
            raise
        ensure_reaper(self.store)
        return workers

    def query_instances(self, annex: AnnexRecord) -> list[Observation]:
        return observe(self.store, annex, time.time())

    def terminate_instances(self, annex: AnnexRecord, ids: Sequence[str] | None = None) -> None:
        ended = []
        for record in annex.live_workers:
            if ids is None or record.id in ids:
                local_worker(self.store, record).remove()
                ended.append(record.id)
        withdraw_ads(self.store, ended)

    def set_lease(self, annex: AnnexRecord, bundle: WorkerBundle) -> None:
        for record in annex.live_workers:
            worker = local_worker(self.store, record)
            worker.write_lease(bundle)
            worker.reconfigure()


def started(worker: LocalWorker, data: dict[str, Any] | None = None) -> Observation:
    """A worker just started (or found running), as the core records it."""
    return Observation(
        id=worker.id,
        seen=Seen.STARTED,
        address=worker.address,
        started_at=time.time(),
        data={"pid": worker.pid, "pid_started": worker.pid_started, **(data or {})},
    )


def local_worker(store: Store, record: WorkerRecord) -> LocalWorker:
    return LocalWorker(
        store.workers_dir,
        record.id,
        record.address,
        pid=record.data.get("pid"),
        pid_started=record.data.get("pid_started"),
    )


def observe(store: Store, annex: AnnexRecord, now: float) -> list[Observation]:
    """What became of each live worker: still running, or ended (and cleaned up). One past
    its lease plus the grace is killed first."""
    seen = []
    killed = []
    for record in annex.live_workers:
        worker = local_worker(store, record)
        if worker.alive():
            if now <= annex.lease_end + LEASE_GRACE_SECONDS:
                seen.append(Observation(record.id, Seen.STARTED))
                continue
            worker.kill()
            killed.append(record.id)
        worker.remove()
        hint = GoneReason.LEASE if record.id in killed else None
        seen.append(Observation(record.id, Seen.ENDED, ended_by=hint))
    withdraw_ads(store, killed)
    return seen


def withdraw_ads(store: Store, instance_ids: list[str]) -> None:
    """Killed workers cannot withdraw their own ads; the pool does it for them."""
    if instance_ids:
        from condor_annex.pool import LocalPool

        LocalPool(store, get_runtime()).withdraw_ads(instance_ids)


def ensure_reaper(store: Store) -> None:
    """Start the reaper unless one is running for this state home (it holds a lock)."""
    log = store.home / "reaper.log"
    with log.open("ab") as out:
        subprocess.Popen(
            [sys.executable, "-m", "condor_annex.providers.local.reaper", str(store.home)],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            close_fds=True,
        )
