"""The Python API. The `annex` command is a thin layer over this class.

from condor_annex import Annexes, AnnexRequest
annexes = Annexes()                       # state in CONDOR_ANNEX_HOME or the default
annexes.pool_up()
annexes.create(AnnexRequest("demo", count=2, lease_seconds=3600, idle_seconds=600))
print(annexes.status("demo")[0].slots)
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from condor_annex import poolquery
from condor_annex.errors import AnnexError, UsageError
from condor_annex.model import AnnexRecord, AnnexRequest
from condor_annex.pool import ANNEX_DOMAIN, UID_DOMAIN, LocalPool, PoolInfo
from condor_annex.providers import Provider, get_provider
from condor_annex.runtime import Runtime, get_runtime
from condor_annex.settings import Settings, load_settings
from condor_annex.status import AnnexStatus, annex_status
from condor_annex.store import Store
from condor_annex.waiting import wait_for
from condor_annex.workerconfig import WorkerBundle

Say = Callable[[str], None]
Confirm = Callable[[str], bool]

# Tokens outlive the lease by this much, so a worker can still report while it leaves.
TOKEN_SLACK_SECONDS = 300


class Cancelled(AnnexError):
    """The user said no at a confirmation prompt."""


def _quiet(_: str) -> None:
    pass


class Annexes:
    def __init__(self, home: Path | None = None, settings: Settings | None = None) -> None:
        self.settings = settings or load_settings()
        self.store = Store(home or self.settings.home)
        self._runtime: Runtime | None = None

    # -- plumbing ----------------------------------------------------------------------
    @property
    def runtime(self) -> Runtime:
        if self._runtime is None:
            self._runtime = get_runtime()
        return self._runtime

    @property
    def pool(self) -> LocalPool:
        return LocalPool(self.store, self.runtime)

    def _connected_pool(self) -> PoolInfo:
        """The running pool, with the bindings set to authenticate to it as administrator."""
        pool = self.pool
        info = pool.require_up()
        pool.connect()
        return info

    def provider(self, name: str | None = None) -> Provider:
        return get_provider(name or self.settings.provider, self.store)

    def request(
        self,
        name: str,
        count: int,
        lease_seconds: int | None = None,
        idle_seconds: int | None = None,
        cpus: int = 1,
        memory_mb: int = 1024,
    ) -> AnnexRequest:
        """An AnnexRequest with this installation's defaults and maximum filled in."""
        return AnnexRequest(
            name=name,
            count=count,
            lease_seconds=lease_seconds or self.settings.lease_seconds,
            idle_seconds=idle_seconds or self.settings.idle_seconds,
            cpus=cpus,
            memory_mb=memory_mb,
            max_count=self.settings.max_count,
        )

    # -- pool --------------------------------------------------------------------------
    def pool_up(self, port: int = 0, say: Say = _quiet) -> PoolInfo:
        return self.pool.up(port=port, say=say)

    def pool_down(self) -> None:
        """End every local annex's workers, then the pool, and forget all state."""
        for record in self.store.annexes():
            if record.provider == "local":
                with self.store.lock():
                    self.provider("local").terminate_instances(record)
                    self.store.delete_annex(record.name)
        self.pool.down()

    def tool(
        self, argv: Sequence[str], user: str | None = None, cwd: Path | None = None
    ) -> list[str]:
        """argv that runs one of HTCondor's own tools against the pool (as `user` if given)."""
        return self.pool.tool(argv, user=user, cwd=cwd)

    # -- annexes -----------------------------------------------------------------------
    def describe(self, request: AnnexRequest, provider: str) -> str:
        return (
            f"Will start {request.count} {provider} worker{'s' if request.count != 1 else ''} "
            f"({request.cpus} CPU, {request.memory_mb} MB each) in annex '{request.name}' "
            f"for {request.lease_seconds}s; each leaves after {request.idle_seconds}s idle."
        )

    def create(
        self,
        request: AnnexRequest,
        provider: str | None = None,
        confirm: Confirm | None = None,
        say: Say = _quiet,
    ) -> AnnexRecord:
        """Start the annex's workers. Every check runs before anything is created."""
        chosen = self.provider(provider)
        info = self._connected_pool()
        if self.store.has_annex(request.name):
            existing = self.store.load_annex(request.name)
            self.provider(existing.provider).query_instances(existing)
            if existing.live_workers:
                raise UsageError(
                    f"annex {request.name!r} already has {len(existing.live_workers)} live "
                    "workers; renew it, turn it off, or pick another name"
                )
        summary = self.describe(request, chosen.name)
        say(summary)
        if confirm is not None and not confirm(summary):
            raise Cancelled("nothing was started")
        record = AnnexRecord.from_request(request, chosen.name)
        bundle = self._bundle(record, info)
        with self.store.lock():
            record.workers = chosen.run_instances(record, bundle, request.count)
            self.store.save_annex(record)
        return record

    def _bundle(self, record: AnnexRecord, info: PoolInfo) -> WorkerBundle:
        lifetime = int(record.lease_end - time.time()) + TOKEN_SLACK_SECONDS
        return WorkerBundle(
            annex_name=record.name,
            collector=info.collector,
            uid_domain=UID_DOMAIN,
            annex_domain=ANNEX_DOMAIN,
            lease_end=record.lease_end,
            idle_seconds=record.idle_seconds,
            cpus=record.cpus,
            memory_mb=record.memory_mb,
            token=self.pool.worker_token(record.name, lifetime),
        )

    def _refreshed(self, name: str) -> AnnexRecord:
        with self.store.lock():
            record = self.store.load_annex(name)
            self.provider(record.provider).query_instances(record)
            self.store.save_annex(record)
        return record

    def _wait_for_masters(self, record: AnnexRecord, say: Say, timeout: float = 20) -> None:
        """condor_off finds workers through their master ads; give late ones a moment.

        Workers whose master never shows up are ended through the provider afterwards.
        """
        collector = self._connected_pool().collector
        live = {w.id for w in record.live_workers}
        try:
            wait_for(
                lambda: live <= set(poolquery.annex_masters(collector, record.name)),
                timeout,
                "the annex's masters to appear in the pool",
                interval=0.5,
            )
        except TimeoutError:
            say(f"Some workers of '{record.name}' are not in the pool; ending them directly.")

    def status(self, name: str | None = None) -> list[AnnexStatus]:
        names = [name] if name else self.store.annex_names()
        records = [self._refreshed(n) for n in names]
        collector = self._connected_pool().collector if self.pool.is_up() else None
        result = []
        for record in records:
            slots = poolquery.annex_slots(collector, record.name) if collector else []
            result.append(annex_status(record, slots))
        return result

    def renew(self, name: str, lease_seconds: int) -> AnnexRecord:
        record = self._refreshed(name)
        if not record.live_workers:
            raise UsageError(f"annex {name!r} has no live workers; create a new one instead")
        if lease_seconds < record.idle_seconds:
            raise UsageError(
                f"new lease ({lease_seconds}s) is shorter than the idle time "
                f"({record.idle_seconds}s); use a longer --duration"
            )
        info = self._connected_pool()
        with self.store.lock():
            record = self.store.load_annex(name)
            record.lease_end = time.time() + lease_seconds
            self.provider(record.provider).set_lease(record, self._bundle(record, info))
            self.store.save_annex(record)
        return record

    def off(
        self, name: str, graceful: bool = False, timeout: float | None = None, say: Say = _quiet
    ) -> AnnexRecord:
        """Ask the pool to turn the annex off (condor_off -annex), then end what is left.

        graceful=True lets running jobs finish (condor_off -peaceful); otherwise jobs are
        evicted back to the queue. Either way every worker is gone on return.
        """
        record = self._refreshed(name)
        with self.store.lock():
            record = self.store.load_annex(name)
            record.off_requested = True
            self.store.save_annex(record)
        provider = self.provider(record.provider)
        if record.live_workers and self.pool.is_up():
            self._wait_for_masters(record, say)
            argv = ["condor_off", "-peaceful" if graceful else "-graceful", "-annex", name]
            proc = subprocess.run(
                self.tool(argv, cwd=Path("/")), capture_output=True, text=True, check=False
            )
            if proc.returncode != 0:
                say(f"condor_off did not reach every worker ({proc.stderr.strip()[:200]})")
        if timeout is None:
            timeout = max(60.0, record.lease_end - time.time()) if graceful else 60.0
        say(f"Waiting for {len(record.live_workers)} workers of '{name}' to leave...")
        try:
            wait_for(lambda: not self._refreshed(name).live_workers, timeout, "workers to leave")
        except TimeoutError:
            with self.store.lock():
                record = self.store.load_annex(name)
                provider.terminate_instances(record)
                self.store.save_annex(record)
        return self._refreshed(name)
