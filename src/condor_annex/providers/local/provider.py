"""LocalProvider: starts workers as detached condor_master trees and settles their ends.

`settle()` is the one place that decides what became of a worker; both status queries
and the reaper call it, so they always agree.
"""

from __future__ import annotations

import secrets
import subprocess
import sys
import time
from collections.abc import Sequence

from condor_annex.lifecycle import GoneReason, WorkerState
from condor_annex.model import AnnexRecord, AnnexRequest, WorkerRecord
from condor_annex.providers.local.addresses import free_addresses
from condor_annex.providers.local.worker import LocalWorker
from condor_annex.runtime import get_runtime
from condor_annex.store import Store
from condor_annex.workerconfig import WorkerBundle

# After lease end plus this, the reaper kills a worker that has not left by itself.
LEASE_GRACE_SECONDS = 4.0


class LocalProvider:
    name = "local"
    region = ""
    lease_grace_seconds = LEASE_GRACE_SECONDS
    # Local workers start in about a second; their master ads follow within seconds.
    join_wait_seconds = 20.0
    poll_seconds = 0.25

    def __init__(self, store: Store) -> None:
        self.store = store
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

    def _worker(self, record: WorkerRecord) -> LocalWorker:
        return LocalWorker(self.store.workers_dir, record)

    def _used_addresses(self) -> set[str]:
        return {w.address for a in self.store.annexes() for w in a.live_workers}

    def run_instances(
        self, annex: AnnexRecord, bundle: WorkerBundle, count: int
    ) -> list[WorkerRecord]:
        runtime = get_runtime()
        runtime.share(self.store.home)
        addresses = free_addresses(self._used_addresses())
        started = []
        for _ in range(count):
            record = WorkerRecord(id=f"local-{secrets.token_hex(4)}", address=next(addresses))
            worker = self._worker(record)
            worker.write_files(runtime, bundle)
            worker.start(runtime)
            record.started_at = time.time()
            record.move_to(WorkerState.BOOTING)
            record.move_to(WorkerState.RUNNING)
            started.append(record)
        ensure_reaper(self.store)
        return started

    def query_instances(self, annex: AnnexRecord) -> list[WorkerRecord]:
        settle(self.store, annex, time.time())
        return annex.workers

    def terminate_instances(self, annex: AnnexRecord, ids: Sequence[str] | None = None) -> None:
        ended = []
        for record in annex.workers:
            if record.alive and (ids is None or record.id in ids):
                worker = self._worker(record)
                worker.remove()
                record.move_to(WorkerState.GONE, GoneReason.OFF)
                ended.append(record.id)
        withdraw_ads(self.store, ended)

    def set_lease(self, annex: AnnexRecord, bundle: WorkerBundle) -> None:
        for record in annex.live_workers:
            worker = self._worker(record)
            worker.write_lease(bundle)
            worker.reconfigure()


def settle(store: Store, annex: AnnexRecord, now: float) -> bool:
    """Mark dead workers GONE (and clean them up); kill those past lease + grace.

    Returns True when any record changed. The caller holds the store lock and saves.
    """
    changed = False
    killed = []
    for record in annex.live_workers:
        worker = LocalWorker(store.workers_dir, record)
        if worker.alive():
            if now <= annex.lease_end + LEASE_GRACE_SECONDS:
                continue
            worker.kill()  # the backstop: the worker did not leave at lease end by itself
            killed.append(record.id)
        if now >= annex.lease_end:
            reason = GoneReason.LEASE
        elif annex.off_requested:
            reason = GoneReason.OFF
        else:
            reason = GoneReason.EXITED
        worker.remove()
        record.move_to(WorkerState.GONE, reason)
        changed = True
    withdraw_ads(store, killed)
    return changed


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
