"""The Python API. The `annex` command is a thin layer over this class.

from condor_annex import Annexes, AnnexRequest
annexes = Annexes()                       # state in CONDOR_ANNEX_HOME or the default
annexes.pool_up()
annexes.create(AnnexRequest("demo", count=2, lease_seconds=3600, idle_seconds=600))
print(annexes.status("demo")[0].slots)
"""

from __future__ import annotations

import contextlib
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any, cast

from condor_annex import poolquery
from condor_annex.autoscale.creating import ElasticRequest, autoscale_part, create_elastic
from condor_annex.autoscale.supervision import ensure_controller
from condor_annex.autoscale.supervision import stop as stop_controller
from condor_annex.errors import AnnexError, Cancelled, UsageError
from condor_annex.interfaces import Account, Catalogue, Context, LeaseReaper, Provider, Renewable
from condor_annex.lifecycle import GoneReason
from condor_annex.model import AnnexRecord, AnnexRequest
from condor_annex.names import validate_pool_address
from condor_annex.pool import LocalPool
from condor_annex.poolaccess import PoolAddress
from condor_annex.providers import registry
from condor_annex.runtime import Runtime, get_runtime
from condor_annex.settings import Settings, load_settings
from condor_annex.settle import mark_ended, settle
from condor_annex.status import AnnexStatus, annex_status
from condor_annex.store import Store
from condor_annex.systempool import SystemPool
from condor_annex.waiting import wait_for
from condor_annex.workerconfig import WorkerBundle

Say = Callable[[str], None]
Confirm = Callable[[str], bool]
# Provider options as the CLI collects them: per provider name, by Option.dest. The core
# hands them to that provider unopened.
ProviderOptions = Mapping[str, Mapping[str, Any]]

# Tokens outlive the lease by this much, so a worker can still report while it leaves.
TOKEN_SLACK_SECONDS = 300
# Collector names no worker on another host can reach.
LOOPBACK_NAMES = ("127.0.0.1", "localhost", "::1", "[::1]")

__all__ = ["Annexes", "Cancelled", "ProviderOptions"]


def _quiet(_: str) -> None:
    pass


class Annexes:
    def __init__(
        self,
        home: Path | None = None,
        settings: Settings | None = None,
        options: ProviderOptions | None = None,
    ) -> None:
        self.settings = settings or load_settings()
        self.store = Store(home or self.settings.home)
        self.options = {name: dict(values) for name, values in (options or {}).items()}
        self._runtime: Runtime | None = None
        self._pool: LocalPool | SystemPool | None = None
        self._providers: dict[tuple[str, str], Provider] = {}

    # -- plumbing ----------------------------------------------------------------------
    @property
    def runtime(self) -> Runtime:
        if self._runtime is None:
            self._runtime = get_runtime()
        return self._runtime

    @property
    def pool(self) -> LocalPool | SystemPool:
        """The pool annexes join: the tool's own local pool, or this machine's seed."""
        if self._pool is None:
            if self.settings.pool == "system":
                self._pool = SystemPool(self.store, self.runtime, self.settings.pool_config)
            else:
                self._pool = LocalPool(self.store, self.runtime)
        return self._pool

    @property
    def context(self) -> Context:
        return Context(self.store, self.settings)

    def _collector_if_up(self) -> str | None:
        """The pool's collector, connected, or None when no pool answers (one check)."""
        try:
            return self._connected_pool().collector
        except UsageError:
            return None

    def _connected_pool(self) -> PoolAddress:
        """The running pool, with the bindings set to authenticate to it as administrator."""
        pool = self.pool
        info = pool.require_up()
        pool.connect()
        return info

    def provider(self, name: str | None = None, record: AnnexRecord | None = None) -> Provider:
        """The provider for new annexes (`name`) or for an existing one (`record`, whose
        own provider and location win). One instance per place, so clients are reused."""
        if record is not None:
            name, location = record.provider, record.location
        else:
            name, location = name or self.settings.provider, ""
        key = (name, location)
        if key not in self._providers:
            given = self.options.get(name, {})
            self._providers[key] = registry.open_provider(name, self.context, given, location)
        return self._providers[key]

    def account(self, provider: str) -> Account:
        """The provider's account side (setup, check, teardown), or a one-line error."""
        account: Account = registry.capability(
            provider, "account", self.context, self.options.get(provider, {})
        )
        return account

    def reaper(self, provider: str) -> LeaseReaper:
        reaper: LeaseReaper = registry.capability(
            provider, "reaper", self.context, self.options.get(provider, {})
        )
        return reaper

    def standalone(
        self, provider: str | None = None, say: Say = _quiet
    ) -> AbstractContextManager[Any]:
        """What the provider needs on this machine for a demo, brought up for the `with`
        block (and taken down after, if it was not running before); nothing for providers
        that need nothing here."""
        name = provider or self.settings.provider
        if not registry.supports(name, "standalone"):
            return contextlib.nullcontext()
        manager: AbstractContextManager[Any] = registry.capability(
            name, "standalone", self.context, self.options.get(name, {}), say
        )
        return manager

    def _refuse_foreign_options(self, chosen: str) -> None:
        """Options of another provider mean nothing here; say so rather than ignore them."""
        for other, values in self.options.items():
            if other == chosen:
                continue
            flags = [o.flag for o in registry.options(other) if values.get(o.dest)]
            if flags:
                raise UsageError(
                    f"{', '.join(flags)} only apply to --provider {other}; "
                    f"leave them out or choose {other}"
                )

    def request(
        self,
        name: str,
        count: int,
        lease_seconds: int | None = None,
        idle_seconds: int | None = None,
        cpus: int = 1,
        memory_mb: int = 1024,
        owners: Sequence[str] = (),
        budget_usd: float | None = None,
    ) -> AnnexRequest:
        """An AnnexRequest with this installation's defaults and maximum filled in."""
        return AnnexRequest(
            owners=tuple(owners),
            budget_usd=budget_usd,
            name=name,
            count=count,
            lease_seconds=lease_seconds or self.settings.lease_seconds,
            idle_seconds=idle_seconds or self.settings.idle_seconds,
            cpus=cpus,
            memory_mb=memory_mb,
            max_count=self.settings.max_count,
        )

    # -- pool --------------------------------------------------------------------------
    def pool_up(self, port: int = 0, say: Say = _quiet) -> PoolAddress:
        return self.pool.up(port=port, say=say)

    def pool_down(self, say: Say = _quiet) -> None:
        """End every annex's workers, then the pool, and forget all state."""
        pool = self.pool
        if not pool.managed:
            raise UsageError("the system pool is HTCondor's own; stop it with the system's tools")
        for record in self.store.annexes():
            if record.live_workers:
                try:
                    self.provider(record=record).terminate_instances(record)
                except AnnexError as err:
                    say(f"Warning: annex {record.name}: {err}; its workers end at their lease.")
            with self.store.lock(record.name):
                self.store.delete_annex(record.name)
        pool.down()

    def tool(
        self, argv: Sequence[str], user: str | None = None, cwd: Path | None = None
    ) -> list[str]:
        """argv that runs one of HTCondor's own tools against the pool (as `user` if given)."""
        return self.pool.tool(argv, user=user, cwd=cwd)

    # -- annexes -----------------------------------------------------------------------
    def create(
        self,
        request: AnnexRequest,
        provider: str | None = None,
        confirm: Confirm | None = None,
        say: Say = _quiet,
        pool_address: str | None = None,
    ) -> AnnexRecord:
        """Start the annex's workers. Every check runs before anything is created.

        `pool_address` is the collector as the workers reach it (a seed's public name);
        it defaults to the pool's own address.
        """
        if pool_address is not None:
            validate_pool_address(pool_address)
        chosen = self.provider(provider)
        self._refuse_foreign_options(chosen.name)
        chosen.prepare(request)
        price = self._plain_price(chosen.name, request)
        info, collector = self._pool_for(request.name, chosen, pool_address, say)
        summary = chosen.describe(request)
        say(summary)
        if confirm is not None and not confirm(summary):
            raise Cancelled("nothing was started")
        record = AnnexRecord.from_request(request, chosen.name, chosen.location)
        record.price_per_hour = price
        if request.budget_usd is not None:
            record.autoscale = autoscale_part()  # the controller keeps the budget
        with self.store.lock(record.name):
            if self.store.has_annex(record.name):  # another create may have won meanwhile
                self._refuse_if_live(self.store.load_annex(record.name))
            self.store.save_annex(record)
        try:
            # The pool's own schedd enforces the owners too, whatever a worker advertises.
            self.pool.restrict_annex_owners(record.name, record.owners)
            bundle = self._bundle(record, info, collector)
            seen = chosen.run_instances(record, bundle, request.count)
        except BaseException:
            self.pool.forget_annex(record.name)
            with self.store.lock(record.name):
                self.store.delete_annex(record.name)
            raise
        with self.store.editing(record.name) as saved:
            saved.provider_data.update(record.provider_data)  # what the provider noted
            settle(saved, seen, time.time(), chosen.timing)
        if saved.autoscale is not None:
            ensure_controller(self, say)
        return saved

    def _plain_price(self, provider: str, request: AnnexRequest) -> float | None:
        """The price of one worker as requested, where the provider knows it; a budget
        cannot be kept without one, so then it is refused before anything starts."""
        price = None
        if registry.supports(provider, "catalogue"):
            price = self.catalogue(provider).plain_price(request)
        if request.budget_usd is not None and price is None:
            raise UsageError(
                f"provider {provider} knows no price for workers of {request.cpus} CPUs and "
                f"{request.memory_mb} MB, so it cannot keep --budget; price them with its "
                "options (see annex create --help) or leave --budget out"
            )
        return price

    def catalogue(self, provider: str, location: str = "") -> Catalogue:
        """The provider's worker types and prices (elastic annexes), or a one-line error."""
        found: Catalogue = registry.capability(
            provider, "catalogue", self.context, self.options.get(provider, {}), location
        )
        return found

    def autoscale(
        self,
        request: ElasticRequest,
        provider: str | None = None,
        confirm: Confirm | None = None,
        say: Say = _quiet,
    ) -> AnnexRecord:
        """Create an elastic annex: zero workers now; its controller grows and shrinks it.
        Every check runs before anything is created."""
        return create_elastic(self, request, provider, confirm, say)

    def _pool_for(
        self, name: str, chosen: Provider, pool_address: str | None, say: Say
    ) -> tuple[PoolAddress, str]:
        """The running pool and the collector as the new annex's workers reach it; an annex
        of this name that is still live is refused."""
        info = self._connected_pool()
        if self.store.has_annex(name):
            self._refuse_if_live(self._refresh(name))
        collector = pool_address or info.collector
        if not chosen.same_host and collector.split(":")[0] in LOOPBACK_NAMES:
            say(
                f"Warning: workers of provider {chosen.name} cannot reach the pool at "
                f"{collector}; give --pool-address with the seed's public name."
            )
        return info, collector

    def use_options(self, provider: str, options: Mapping[str, Any]) -> None:
        """Act with these options of the provider from now on (a controller stepping
        annexes made with different ones)."""
        if self.options.get(provider) != dict(options):
            self.options[provider] = dict(options)
            self._providers = {k: v for k, v in self._providers.items() if k[0] != provider}

    @staticmethod
    def _refuse_if_live(existing: AnnexRecord) -> None:
        if existing.live_workers:
            raise UsageError(
                f"annex {existing.name!r} already has {len(existing.live_workers)} live "
                "workers; renew it, turn it off, or pick another name"
            )

    def _bundle(
        self,
        record: AnnexRecord,
        info: PoolAddress,
        collector: str | None = None,
        renewal: bool = False,
    ) -> WorkerBundle:
        """What every worker of the annex gets. A renewal's token is signed with a new key
        of the annex's, so every token issued before it stops working."""
        lifetime = int(record.lease_end - time.time()) + TOKEN_SLACK_SECONDS
        issue = self.pool.renewed_worker_token if renewal else self.pool.worker_token
        return WorkerBundle(
            annex_name=record.name,
            collector=collector or info.collector,
            uid_domain=self.pool.uid_domain,
            annex_domain=self.pool.annex_domain,
            lease_end=record.lease_end,
            idle_seconds=record.idle_seconds,
            cpus=record.cpus,
            memory_mb=record.memory_mb,
            token=issue(record.name, lifetime),
            owners=tuple(record.owners),
        )

    def _refresh(self, name: str, in_pool: set[str] | None = None) -> AnnexRecord:
        """Ask the provider (no lock held), then apply what it saw, and which workers are
        in the pool when known, to the record under its lock."""
        record = self.store.load_annex(name)
        provider = self.provider(record=record)
        seen = provider.query_instances(record)
        with self.store.editing(name) as fresh:
            settle(fresh, seen, time.time(), provider.timing, in_pool)
        return fresh

    def _workers_in_pool(self, record: AnnexRecord, collector: str, wait: float) -> set[str]:
        """The live workers whose master ads are in the pool (condor_off -annex finds
        workers through them); fresh workers get up to `wait` seconds to show up."""
        live = {w.id for w in record.live_workers}

        def present() -> set[str]:
            return live & set(poolquery.annex_masters(collector, record.name))

        with contextlib.suppress(TimeoutError):
            wait_for(lambda: present() == live, wait, "the annex's masters", interval=0.5)
        return present()

    def status(self, name: str | None = None) -> list[AnnexStatus]:
        """One annex's status (errors are the caller's), or every annex's: one that cannot
        be asked now (say, AWS without credentials) shows its last known state, marked."""
        collector = self._collector_if_up()
        result = []
        for each in [name] if name else self.store.annex_names():
            slots = poolquery.annex_slots(collector, each) if collector else []
            in_pool = {s.instance_id for s in slots} if collector else None
            stale = ""
            try:
                record = self._refresh(each, in_pool)
            except AnnexError as err:
                if name:
                    raise
                record = self.store.load_annex(each)
                stale = f"last known state; cannot ask now: {err}"
            cost = None if stale else self.provider(record=record).cost(record)
            result.append(annex_status(record, slots, cost=cost, stale=stale))
        return result

    def renew(self, name: str, lease_seconds: int) -> AnnexRecord:
        record = self._refresh(name)
        elastic = bool(record.autoscale and record.autoscale.get("policy"))
        if not record.live_workers and not elastic:  # an elastic one may be at zero
            raise UsageError(f"annex {name!r} has no live workers; create a new one instead")
        if lease_seconds < record.idle_seconds:
            raise UsageError(
                f"new lease ({lease_seconds}s) is shorter than the idle time "
                f"({record.idle_seconds}s); use a longer --duration"
            )
        if not registry.supports(record.provider, "renew"):
            raise UsageError(
                f"provider {record.provider} cannot move a lease; the annex ends at its "
                "lease: create a new annex for more time"
            )
        provider = cast(Renewable, self.provider(record=record))
        info = self._connected_pool()
        record.lease_end = time.time() + lease_seconds
        if record.live_workers:
            provider.set_lease(record, self._bundle(record, info, renewal=True))
        with self.store.editing(name) as saved:
            saved.lease_end = record.lease_end
        return saved

    def off(
        self, name: str, graceful: bool = False, timeout: float | None = None, say: Say = _quiet
    ) -> AnnexRecord:
        """Ask the pool to turn the annex off (condor_off -annex), then end what is left.

        graceful=True lets running jobs finish (condor_off -peaceful); otherwise jobs are
        evicted back to the queue. Workers not in the pool are ended through the provider
        at once, and whatever has not left by the timeout after them. Either way every
        worker is gone on return, and the provider has removed the annex's credentials.
        """
        self._refresh(name)
        with self.store.editing(name) as record:
            record.off_requested = True
        provider = self.provider(record=record)
        if record.autoscale is not None:
            stop_controller(self, name, self._collector_if_up(), wait=30.0)
            record = self._refresh(name)
        in_pool: set[str] = set()
        collector = self._collector_if_up() if record.live_workers else None
        if collector:
            in_pool = self._workers_in_pool(record, collector, provider.timing.join_wait_seconds)
        if in_pool:
            argv = ["condor_off", "-peaceful" if graceful else "-graceful", "-annex", name]
            proc = subprocess.run(
                self.tool(argv, cwd=Path("/")), capture_output=True, text=True, check=False
            )
            if proc.returncode != 0:
                say(f"condor_off did not reach every worker ({proc.stderr.strip()[:200]})")
            if timeout is None:
                timeout = max(60.0, record.lease_end - time.time()) if graceful else 60.0
            say(f"Waiting for {len(in_pool)} workers of '{name}' to leave the pool...")
            try:
                wait_for(
                    lambda: not in_pool & {w.id for w in self._refresh(name).live_workers},
                    timeout,
                    "workers to leave",
                    interval=provider.timing.poll_seconds,
                )
            except TimeoutError:
                say(f"Some workers of '{name}' did not leave in {timeout:g}s; ending them.")
        record = self.store.load_annex(name)
        if record.live_workers:
            say(f"Ending {len(record.live_workers)} workers of '{name}' directly.")
        provider.terminate_instances(record)
        with self.store.editing(name) as saved:
            mark_ended(saved, None, GoneReason.OFF)
        # Only now (they withdraw their own ads with it): the annex's tokens stop working.
        self.pool.forget_annex(name)
        for warning in provider.warnings:
            say(f"Warning: {warning}")
        return self._refresh(name)
