"""`plan()`: the one pure decision function of elastic annexes (no I/O, no clock reads).

Contract for the caller (the controller, or the replay simulator):
- `demand`: idle autoclusters, counting only jobs the negotiator has had a cycle to match;
- `supply`: every worker of the annex, running or in flight;
- `now` and `spent_usd` come from the caller; the same inputs always give the same plan;
- Releases are advice: re-check that a worker is still unclaimed just before ending it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence

from condor_annex.durations import format_duration
from condor_annex.planning.catalogue import Resources, WorkerType
from condor_annex.planning.demand import IdleAutocluster, Worker
from condor_annex.planning.match import Matcher
from condor_annex.planning.outcome import (
    Launch,
    LimitHit,
    Placement,
    Plan,
    Release,
    Unmatchable,
)
from condor_annex.planning.packing import EXISTING, IN_FLIGHT, NEW, Bin, fill, new_bins
from condor_annex.planning.policy import Headroom, Policy, Spending
from condor_annex.planning.typechoice import alternatives, rank


def _largest_first(ac: IdleAutocluster) -> tuple[int, int, int, int, int, str]:
    r = ac.request
    return (-r.gpus, -r.cpus, -r.memory_mb, -r.disk_mb, -ac.jobs, ac.id)


def _existing_order(worker: Worker) -> tuple[bool, int, int, str]:
    # Claimed and fuller workers first, so the room of idle ones is used last and they can go.
    return (not worker.claimed, worker.free.cpus, worker.free.memory_mb, worker.id)


def _why_unmatchable(ac: IdleAutocluster, types: Sequence[WorkerType], matcher: Matcher) -> str:
    if not types:
        return "the policy allows no type"
    counts = Counter(matcher.why_not(ac, t) for t in types)
    parts = [f"{n} {why}" for why, n in sorted(counts.items(), key=str) if why]
    return f"no type can run it ({'; '.join(parts)} of {len(types)} types)"


def _runs_on(
    ac: IdleAutocluster,
    fitting: list[WorkerType],
    candidates: list[WorkerType],
    matcher: Matcher,
) -> Callable[[WorkerType], bool]:
    """A fast test for the bins' types: catalogue entries by identity (bins of new workers
    hold the very objects), anything else (a worker's own shape) through the matcher."""
    yes, known = {id(t) for t in fitting}, {id(t) for t in candidates}

    def runs_on(worker_type: WorkerType) -> bool:
        key = id(worker_type)
        if key in known:
            return key in yes
        return matcher.why_not(ac, worker_type) is None

    return runs_on


def _budget_spent(policy: Policy, spent_usd: float) -> bool:
    budget = policy.caps.budget_usd
    return budget is not None and spent_usd >= budget


def plan(
    demand: Sequence[IdleAutocluster],
    supply: Sequence[Worker],
    catalogue: Sequence[WorkerType],
    policy: Policy,
    now: float,
    spent_usd: float,
    matcher: Matcher | None = None,
) -> Plan:
    """Decide launches and releases. `matcher` caches ClassAd matches across calls; pass
    the same one on every call of a controller (one per policy)."""
    matcher = matcher or Matcher(policy)
    timing = policy.timing
    failed = tuple(
        w.id
        for w in supply
        if w.in_flight and now - (w.launched_at or w.started_at) > timing.boot_timeout_s
    )
    spending = Spending.of(supply, policy, spent_usd)
    if _budget_spent(policy, spent_usd):
        return _drain_and_end(supply, spending, policy, failed)

    live = [w for w in supply if w.id not in failed]
    running = sorted((w for w in live if not w.in_flight and not w.draining), key=_existing_order)
    flying = [w for w in live if w.in_flight]
    bins = [Bin(w.type, w.free, 1, EXISTING, worker_id=w.id) for w in running]
    bins += [Bin(w.type, w.free, 1, IN_FLIGHT, worker_id=w.id) for w in flying]
    worker_types = {w.type for w in live}
    candidates = [t for t in catalogue if policy.capacity.allows(t)]
    # Failed workers still count against the caps until the controller has ended them.
    headroom = Headroom.of(supply, policy, spending)
    lease_over = timing.lease_end is not None and now >= timing.lease_end

    placements: list[Placement] = []
    limits: list[LimitHit] = []
    unmatchable: list[Unmatchable] = []
    groups: list[tuple[WorkerType, str]] = []  # launch group index -> (type, opened for)
    fitting_by_ac: dict[str, frozenset[WorkerType]] = {}
    for ac in sorted((a for a in demand if a.jobs > 0), key=_largest_first):
        fitting = matcher.fitting(ac, candidates)
        fitting_by_ac[ac.id] = frozenset(fitting)
        runs_on = _runs_on(ac, fitting, candidates, matcher)
        if not fitting and not any(runs_on(t) for t in worker_types):
            why = _why_unmatchable(ac, candidates, matcher)
            unmatchable.append(Unmatchable(ac.id, ac.jobs, why))
            continue
        before = Counter({EXISTING: 0, IN_FLIGHT: 0, NEW: 0})
        for b in bins:
            before[b.kind] += b.jobs.get(ac.id, 0)
        remaining = fill(ac, ac.jobs, bins, runs_on)
        while remaining > 0:
            if lease_over:
                limits.append(LimitHit("lease", ac.id, remaining, "the annex's lease has ended"))
                break
            opened = _open_workers(ac, remaining, fitting, policy, headroom, groups)
            if isinstance(opened, LimitHit):
                limits.append(opened)
                break
            new, remaining = opened
            bins += new
        after = Counter()
        for b in bins:
            after[b.kind] += b.jobs.get(ac.id, 0)
        placements.append(
            Placement(
                ac.id,
                existing=after[EXISTING] - before[EXISTING],
                in_flight=after[IN_FLIGHT] - before[IN_FLIGHT],
                new=after[NEW] - before[NEW],
                waiting=remaining,
            )
        )

    needed = tuple(b.worker_id for b in bins if b.worker_id and b.jobs)
    return Plan(
        launches=_launches(bins, groups, candidates, fitting_by_ac),
        releases=_releases(running, set(needed), policy, now),
        failed=failed,
        unmatchable=tuple(unmatchable),
        limits=tuple(limits),
        placements=tuple(placements),
        needed=needed,
        spending=spending,
        budget_usd=policy.caps.budget_usd,
    )


def _open_workers(
    ac: IdleAutocluster,
    remaining: int,
    fitting: list[WorkerType],
    policy: Policy,
    headroom: Headroom,
    groups: list[tuple[WorkerType, str]],
) -> tuple[list[Bin], int] | LimitHit:
    """Open new workers of the best type the caps still allow for `remaining` jobs."""
    stopped: list[str] = []
    for choice, worker_type in rank(fitting, ac.request, remaining, policy.waste_weight):
        allowed, limit = headroom.allowance(worker_type, choice.workers)
        if allowed < 1:
            stopped.append(f"{worker_type.offering}: {limit}")
            continue
        headroom.take(worker_type, allowed)
        groups.append((worker_type, ac.id))
        return new_bins(ac, remaining, worker_type, allowed, len(groups) - 1)
    first = stopped[0].split(": ")[1] if stopped else "none"
    return LimitHit(first, ac.id, remaining, _limit_detail(first, policy, stopped))


def _limit_detail(limit: str, policy: Policy, stopped: list[str]) -> str:
    caps = policy.caps
    value = {
        "max_workers": caps.max_workers,
        "max_cpus": caps.max_cpus,
        "max_gpus": caps.max_gpus,
        "max_cost_per_hour": caps.max_cost_per_hour,
        "budget": caps.budget_usd,
    }.get(limit)
    shown = ", ".join(stopped[:3]) + (f" and {len(stopped) - 3} more" if len(stopped) > 3 else "")
    return f"{limit} = {value}; a launch would pass it ({shown})"


def _launches(
    bins: list[Bin],
    groups: list[tuple[WorkerType, str]],
    candidates: list[WorkerType],
    fitting_by_ac: dict[str, frozenset[WorkerType]],
) -> tuple[Launch, ...]:
    counts: dict[int, int] = Counter()
    jobs: dict[int, Counter[str]] = {}
    least_room: dict[int, Resources] = {}
    for b in bins:
        if b.kind != NEW or b.group is None:
            continue
        counts[b.group] += b.count
        jobs.setdefault(b.group, Counter()).update(b.jobs)
        room = least_room.get(b.group, b.room)
        least_room[b.group] = Resources(
            min(room.cpus, b.room.cpus),
            min(room.memory_mb, b.room.memory_mb),
            min(room.disk_mb, b.room.disk_mb),
            min(room.gpus, b.room.gpus),
        )
    # One launch per (type, alternatives): groups that could share a fleet request do.
    merged: dict[tuple[WorkerType, ...], tuple[int, Counter[str]]] = {}
    for index, (worker_type, _opened_for) in enumerate(groups):
        packed = jobs.get(index, Counter())
        used = Resources(
            worker_type.cpus - least_room[index].cpus,
            worker_type.memory_mb - least_room[index].memory_mb,
            worker_type.disk_mb - least_room[index].disk_mb,
            worker_type.gpus - least_room[index].gpus,
        )
        shared = frozenset.intersection(*(fitting_by_ac[ac] for ac in packed))
        compatible = [t for t in candidates if t in shared]
        key = alternatives(worker_type, used, compatible)
        count, acs = merged.get(key, (0, Counter()))
        merged[key] = (count + counts[index], acs + packed)
    return tuple(
        Launch(key[0], count, key, tuple(sorted(acs.items(), key=lambda kv: (-kv[1], kv[0]))))
        for key, (count, acs) in merged.items()
    )


def _releases(
    running: list[Worker], needed: set[str], policy: Policy, now: float
) -> tuple[Release, ...]:
    """A worker goes only when unclaimed for the idle time, older than the minimum life,
    and not needed by this plan."""
    timing = policy.timing
    released = []
    for w in running:
        if w.claimed or w.id in needed or w.unclaimed_since is None:
            continue
        idle_for, lived = now - w.unclaimed_since, now - w.started_at
        if idle_for >= timing.idle_s and lived >= timing.min_life_s:
            released.append(
                Release(
                    w.id,
                    f"unclaimed for {format_duration(idle_for)} (idle time "
                    f"{format_duration(timing.idle_s)}), {format_duration(lived)} old (minimum "
                    f"life {format_duration(timing.min_life_s)}), no idle job needs it",
                )
            )
    return tuple(released)


def _drain_and_end(
    supply: Sequence[Worker], spending: Spending, policy: Policy, failed: tuple[str, ...]
) -> Plan:
    """The budget is spent: no growth; every worker drains, and unclaimed ones end now."""
    draining = tuple(w.id for w in supply if w.id not in failed)
    releases = tuple(
        Release(w.id, "the budget is spent")
        for w in supply
        if w.id not in failed and not w.in_flight and not w.claimed
    )
    return Plan(
        releases=releases,
        failed=failed,
        drain=draining,
        drain_and_end=True,
        spending=spending,
        budget_usd=policy.caps.budget_usd,
    )
