"""One step of the controller for one annex: observe, plan, act, show.

    observe  the pool (observe.py) and the provider (the record, settled), the spend so far
    plan     planning.plan(): the one pure decision function (the replay calls it too)
    act      launch each decision group (launching.py); release what the plan lets go,
             drain everything once the budget is spent, end what failed to join
             (releasing.py); report workers the provider took away (a spot interruption)
    show     the view in the record and as a ClassAd in the collector (view.py)

A plain annex with a budget gets only the budget: it drains and ends once it is spent.
Nothing here names a provider; the catalogue capability does the provider's part.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from condor_annex import observe, poolquery, spending
from condor_annex.autoscale import view as views
from condor_annex.autoscale.creating import restored_options
from condor_annex.autoscale.identity import connect_as_daemon
from condor_annex.autoscale.launching import SHAPE, Launcher, elastic_bundle, reservation
from condor_annex.autoscale.releasing import Releaser
from condor_annex.autoscale.state import ControllerState, ElasticPolicy, policy_of
from condor_annex.errors import AnnexError
from condor_annex.interfaces import Catalogue
from condor_annex.lifecycle import GoneReason, WorkerState
from condor_annex.model import AnnexRecord, WorkerRecord
from condor_annex.planning import IdleAutocluster, Matcher, Plan, Policy, WorkerType, plan
from condor_annex.planning.outcome import jobs_text
from condor_annex.workerconfig import WorkerBundle

if TYPE_CHECKING:
    from condor_annex.api import Annexes

Log = Callable[[str], None]
PLAIN_INTERVAL = 10.0  # how often a plain annex's budget is checked
LONGEST_FINISH_WAIT = 10.0  # seconds a step waits for released workers to leave
# How long a new worker holds its room for the jobs it was launched for.
RESERVE_INTERVALS = 3
MIN_RESERVE_SECONDS = 60


@dataclass(frozen=True)
class Parts:
    """What acting on one elastic annex takes (made afresh at each step)."""

    catalogue: Catalogue
    launcher: Launcher
    releaser: Releaser
    bundle: Callable[[], WorkerBundle]
    interval_s: int


def taken_away(
    record: AnnexRecord, state: ControllerState, draining: Collection[str] = ()
) -> list[WorkerRecord]:
    """Workers the provider is taking away: ended while their lease held with nobody
    ending them (the controller did not release them, `off` did not end them), or live
    and draining without the controller having asked (a worker drains itself on a spot
    interruption or rebalance notice). Each is reported once."""
    return [
        w
        for w in record.workers
        if w.id not in state.releasing
        and w.id not in state.lost
        and (
            (w.state == WorkerState.GONE and w.gone_reason == GoneReason.EXITED)
            or (w.alive and w.id in draining)
        )
    ]


class Controller:
    def __init__(self, api: Annexes, log: Log) -> None:
        self.api = api
        self.log = log
        self._matchers: dict[str, tuple[Policy, Matcher]] = {}
        self._standing: dict[str, list[str]] = {}  # only to keep the log short

    def _matcher(self, name: str, policy: Policy) -> Matcher:
        known = self._matchers.get(name)
        if known is None or known[0] != policy:
            known = self._matchers[name] = (policy, Matcher(policy))
        return known[1]

    def _end(self, name: str, why: str, collector: str | None) -> None:
        with self.api.store.editing(name) as record:
            state = ControllerState.of(record)
            if state is None:
                return
            state.ended = why
            state.view = {**state.view, "ended": why, "updated_at": round(time.time())}
            state.save(record)
        if collector and state.elastic:
            views.withdraw(collector, name)
        self.log(f"{name}: done ({why})")

    def step(self, name: str) -> float | None:
        """One step for one annex; the seconds until its next step, None once done."""
        record = self.api.store.load_annex(name)
        state = ControllerState.of(record)
        if state is None or not state.active:
            return None
        if state.policy is not None:  # act with the options the annex was made with
            options = restored_options(record.provider, state.policy.provider_options)
            self.api.use_options(record.provider, options)
        info = self.api._connected_pool()
        connect_as_daemon(self.api.pool, self.api.store.home)
        if record.off_requested or state.ended:
            if state.pending is not None and state.policy is not None:
                # A launch a killed controller left: finish it, so its workers are known
                # and ended (the launcher ends what it starts for an annex turned off).
                self._elastic_resume(name, state.policy, info)
            self._end(name, state.ended or "turned off", info.collector)
            return None
        if state.policy is None:
            return self._plain_step(name, info.collector)
        return self._elastic_step(name, state.policy, info)

    # -- a plain annex: only its budget --------------------------------------------------
    def _plain_step(self, name: str, collector: str) -> float | None:
        api = self.api
        in_pool = {s.instance_id for s in poolquery.annex_slots(collector, name)}
        record = api._refresh(name, in_pool)
        provider = api.provider(record=record)
        tool = lambda argv: api.tool(argv, cwd=Path("/"))  # noqa: E731
        releaser = Releaser(api.store, name, provider, collector, tool, self.log)
        releaser.finish(wait=LONGEST_FINISH_WAIT)
        record = api.store.load_annex(name)
        now = time.time()
        spend = spending.spend(record, now)
        state = ControllerState.of(record)
        assert state is not None
        if spend.over_budget:
            going = set(state.releasing)
            live = [w for w in record.live_workers if w.id not in going]
            releaser.drain([w.id for w in live if w.id in in_pool], "the budget is spent")
            releaser.end_now([w.id for w in live if w.id not in in_pool], GoneReason.OFF)
        self._save_view(name, views.build_view(now, [], [], {}, None, spend, 0))
        if not api.store.load_annex(name).live_workers:
            self._end(name, "budget spent" if spend.over_budget else "no workers left", None)
            return None
        return PLAIN_INTERVAL

    # -- an elastic annex ----------------------------------------------------------------
    def _parts(self, name: str, elastic: ElasticPolicy, info: Any) -> Parts:
        api = self.api
        record = api.store.load_annex(name)
        provider = api.provider(record=record)
        catalogue = api.catalogue(record.provider, record.location)
        tool = lambda argv: api.tool(argv, cwd=Path("/"))  # noqa: E731
        bundles: list[WorkerBundle] = []

        def bundle() -> WorkerBundle:  # a token costs a subprocess: made once, when needed
            if not bundles:
                fresh = api._bundle(api.store.load_annex(name), info, elastic.pool_address)
                bundles.append(elastic_bundle(fresh, elastic.backstop_idle_s))
            return bundles[0]

        return Parts(
            catalogue,
            Launcher(api.store, name, provider, catalogue, self.log),
            Releaser(api.store, name, provider, info.collector, tool, self.log),
            bundle,
            elastic.interval_s,
        )

    def _elastic_resume(self, name: str, elastic: ElasticPolicy, info: Any) -> None:
        parts = self._parts(name, elastic, info)
        self._guard(name, lambda: parts.launcher.resume(parts.bundle()))

    def _elastic_step(self, name: str, elastic: ElasticPolicy, info: Any) -> float | None:
        api, collector = self.api, info.collector
        parts = self._parts(name, elastic, info)
        state = ControllerState.of(api.store.load_annex(name))
        assert state is not None
        if state.pending is not None:
            self._guard(name, lambda: parts.launcher.resume(parts.bundle()))

        # In this order: a worker that joins between the two looks is then seen with its
        # room (in the slots, still starting in the record), never as gone.
        in_pool = {s.instance_id for s in poolquery.annex_slots(collector, name)}
        points = observe.execute_points(collector, name)
        api._refresh(name, in_pool)
        draining = [i for i, p in points.items() if p.draining]
        self._report_lost(name, parts.catalogue, draining)
        parts.releaser.finish(wait=min(LONGEST_FINISH_WAIT, elastic.interval_s / 2))

        record = api.store.load_annex(name)
        state = ControllerState.of(record)
        assert state is not None
        now = time.time()
        if now >= record.lease_end and not record.live_workers:
            self._end(name, "the lease has ended", collector)
            return None
        spend = spending.spend(record, now)
        policy = policy_of(record, elastic)
        types = parts.catalogue.worker_types()
        demand = observe.idle_demand(collector, observe.negotiation_cutoff(collector), now)
        supply = observe.supply(record, points, self._type_of(record, types), list(state.releasing))
        decided = plan(
            demand, supply, types, policy, now, spend.spent_usd or 0.0, self._matcher(name, policy)
        )
        self._act(name, decided, parts, points, demand)

        record = api.store.load_annex(name)
        state = ControllerState.of(record)
        assert state is not None
        view = views.build_view(
            now, demand, supply, points, decided, spending.spend(record, time.time()),
            state.launched_workers(),
        )  # fmt: skip
        self._save_view(name, view)
        if api.store.load_annex(name).off_requested:  # `annex off` came during this step
            views.withdraw(collector, name)
        else:
            views.advertise(collector, name, view, lifetime=int(3 * elastic.interval_s + 60))
        if decided.drain_and_end and not record.live_workers:
            self._end(name, "budget spent", collector)
            return None
        return float(elastic.interval_s)

    def _act(
        self,
        name: str,
        decided: Plan,
        parts: Parts,
        points: dict[str, observe.ExecutePoint],
        demand: list[IdleAutocluster],
    ) -> None:
        launcher, releaser = parts.launcher, parts.releaser
        self._explain(name, decided)
        self._guard(name, lambda: releaser.end_now(list(decided.failed), GoneReason.FAILED))
        if decided.drain_and_end:
            record = self.api.store.load_annex(name)
            state = ControllerState.of(record)
            assert state is not None
            live = [w.id for w in record.live_workers if w.id not in state.releasing]
            joined = [i for i in live if i in points]
            waiting = [i for i in live if i not in points]
            self._guard(name, lambda: releaser.drain(joined, "budget spent"))
            self._guard(name, lambda: releaser.end_now(waiting, GoneReason.OFF))
            return
        requests = {ac.id: ac.request for ac in demand}
        hold = max(MIN_RESERVE_SECONDS, RESERVE_INTERVALS * parts.interval_s)
        for launch in decided.launches:
            reserved = replace(
                parts.bundle(), reserve=reservation(launch, requests), reserve_seconds=hold
            )
            self._guard(name, lambda launch=launch, b=reserved: launcher.start(launch, b))
        released = [r.worker_id for r in decided.releases]
        self._guard(name, lambda: releaser.release(released, "the plan does not need it"))
        if released:  # end them in this step: unclaimed startds leave within a second
            self._guard(name, lambda: releaser.finish(wait=LONGEST_FINISH_WAIT))

    def _explain(self, name: str, decided: Plan) -> None:
        """Log why: every action, and the standing reasons (limits, unmatchable jobs) when
        they change, not at every step."""
        standing = [x.reason() for x in decided.limits] + [
            f"unmatchable: {u.autocluster} ({jobs_text(u.jobs)}): {u.why}"
            for u in decided.unmatchable
        ]
        if decided.launches or decided.releases or decided.failed or decided.drain_and_end:
            lines = decided.reasons()
        else:
            lines = [] if standing == self._standing.get(name) else standing
        self._standing[name] = standing
        for line in lines:
            self.log(f"{name}: {line}")

    def _guard(self, name: str, action: Callable[[], object]) -> None:
        """One action's failure is logged and retried at the next step, never fatal."""
        try:
            action()
        except AnnexError as err:
            self.log(f"{name}: {err}")

    def _type_of(
        self, record: AnnexRecord, types: list[WorkerType]
    ) -> Callable[[WorkerRecord, observe.ExecutePoint | None], WorkerType]:
        by_offering = {(t.name, t.spot): t for t in types}

        def type_of(worker: WorkerRecord, point: observe.ExecutePoint | None) -> WorkerType:
            known = by_offering.get((str(worker.data.get("type")), bool(worker.data.get("spot"))))
            if known is not None:
                return known
            price = spending.worker_price(record, worker) or 0.0
            if SHAPE in worker.data:
                return WorkerType(**{**worker.data[SHAPE], "price_per_hour": price})
            if point is not None:
                return observe.point_type(point, price)
            return WorkerType(str(worker.data.get("type", "unknown")), 1, 64, price_per_hour=price)

        return type_of

    def _report_lost(self, name: str, catalogue: Catalogue, draining: list[str]) -> None:
        """Workers taken away (a spot interruption): the catalogue avoids their offering
        for a while; the plan no longer counts their room, so it replaces them."""
        with self.api.store.editing(name) as record:
            state = ControllerState.of(record)
            assert state is not None
            taken = taken_away(record, state, draining)
            state.lost += [w.id for w in taken]
            state.save(record)
        if taken:
            self.log(f"{name}: taken away before their lease: {', '.join(w.id for w in taken)}")
            catalogue.lost(record, taken)

    def _save_view(self, name: str, view: dict[str, Any]) -> None:
        with self.api.store.editing(name) as record:
            state = ControllerState.of(record)
            assert state is not None
            state.view = view
            state.save(record)
