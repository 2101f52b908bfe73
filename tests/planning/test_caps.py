"""Caps stop growth before a launch would pass them; in-flight commitments count; a spent
budget drains and ends the annex."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.planning.builders import CATALOGUE, GPU, LARGE, MEDIUM, SMALL, autocluster, running

from condor_annex.planning import Caps, Policy, Timing, Worker, plan

NOW = 50_000.0
HOUR = 3600.0


def _totals(decided) -> tuple[int, int, int, float]:  # type: ignore[no-untyped-def]
    launches = decided.launches
    return (
        sum(launch.count for launch in launches),
        sum(launch.count * launch.type.cpus for launch in launches),
        sum(launch.count * launch.type.gpus for launch in launches),
        sum(launch.count * launch.type.price_per_hour for launch in launches),
    )


@pytest.mark.parametrize(
    ("caps", "limit", "check"),
    [
        (Caps(max_workers=3), "max_workers", lambda t: t[0] == 3),
        (Caps(max_cpus=5), "max_cpus", lambda t: 4 <= t[1] <= 5),
        (Caps(max_cost_per_hour=0.30), "max_cost_per_hour", lambda t: 0.25 < t[3] <= 0.30),
        # min life 1 h: each 0.09 $/h worker commits 0.09 $; 0.40 $ allows 4.
        (Caps(budget_usd=0.40), "budget", lambda t: t[3] <= 0.40 and t[0] == 4),
    ],
)
def test_each_cap_stops_growth_before_it_is_passed(caps: Caps, limit: str, check) -> None:  # type: ignore[no-untyped-def]
    policy = Policy(caps=caps, timing=Timing(min_life_s=HOUR))
    decided = plan([autocluster(1, jobs=40, cpus=1)], [], CATALOGUE, policy, NOW, 0.0)
    assert check(_totals(decided)), _totals(decided)
    assert decided.limits and decided.limits[0].limit == limit
    assert decided.limits[0].jobs_left > 0
    assert limit in decided.reasons()[-2] or any(limit in line for line in decided.reasons())


def test_gpu_cap() -> None:
    policy = Policy(caps=Caps(max_gpus=2))
    decided = plan([autocluster(1, jobs=5, gpus=1)], [], [GPU, LARGE], policy, NOW, 0.0)
    assert _totals(decided)[2] == 2
    assert decided.limits[0].limit == "max_gpus"


def test_existing_and_in_flight_workers_count_against_caps() -> None:
    supply = [
        running("w1", MEDIUM, claimed=True),
        Worker.starting("w2", MEDIUM, launched_at=NOW - 10),
    ]
    policy = Policy(caps=Caps(max_workers=3, max_cost_per_hour=0.30))
    decided = plan([autocluster(1, jobs=10, cpus=2)], supply, CATALOGUE, policy, NOW, 0.0)
    # 0.18 $/h is burning or coming: one more medium (0.27) fits, a second (0.36) would not.
    assert _totals(decided)[0] == 1


def test_committed_spending_of_workers_in_flight_counts() -> None:
    # A worker in flight at 0.20 $/h with a 1 h minimum life has committed 0.20 $: with
    # 0.15 $ spent and a 0.39 $ budget, not even a 0.05 $ commitment fits.
    policy = Policy(caps=Caps(budget_usd=0.39), timing=Timing(min_life_s=HOUR))
    flying = Worker.starting("w1", LARGE, launched_at=NOW - 10)
    demand = [autocluster(1, jobs=20, cpus=1)]
    decided = plan(demand, [flying], [SMALL], policy, NOW, 0.15)
    assert decided.launches == ()
    assert decided.limits[0].limit == "budget"
    assert decided.spending is not None
    assert decided.spending.committed_usd == pytest.approx(0.20)
    without = plan(demand, [], [SMALL], policy, NOW, 0.15)
    assert _totals(without)[0] == 4  # 0.24 $ left / 0.05 $ committed each


def test_spent_budget_drains_and_ends() -> None:
    supply = [running("busy", MEDIUM, claimed=True), running("idle", MEDIUM)]
    policy = Policy(caps=Caps(budget_usd=1.0))
    decided = plan([autocluster(1, jobs=10)], supply, CATALOGUE, policy, NOW, 1.0)
    assert decided.drain_and_end
    assert decided.launches == ()
    assert set(decided.drain) == {"busy", "idle"}
    assert [r.worker_id for r in decided.releases] == ["idle"]  # the busy one finishes first
    assert decided.reasons()[0].startswith("budget spent")


def test_lease_over_stops_growth() -> None:
    policy = Policy(timing=Timing(lease_end=NOW - 1))
    decided = plan([autocluster(1, jobs=3)], [], CATALOGUE, policy, NOW, 0.0)
    assert decided.launches == ()
    assert decided.limits[0].limit == "lease"


@settings(max_examples=60, deadline=None)
@given(
    jobs=st.lists(
        st.tuples(st.integers(1, 500), st.integers(1, 4), st.integers(0, 1)),
        min_size=1,
        max_size=5,
    ),
    max_workers=st.one_of(st.none(), st.integers(0, 20)),
    max_cpus=st.one_of(st.none(), st.integers(0, 40)),
    max_gpus=st.one_of(st.none(), st.integers(0, 3)),
    max_cost=st.one_of(st.none(), st.floats(0, 3)),
    busy=st.integers(0, 3),
)
def test_a_plan_never_exceeds_any_cap(
    jobs, max_workers, max_cpus, max_gpus, max_cost, busy
) -> None:  # type: ignore[no-untyped-def]
    demand = [autocluster(i, n, cpus=c, gpus=g) for i, (n, c, g) in enumerate(jobs)]
    supply = [running(f"w{i}", MEDIUM, claimed=True) for i in range(busy)]
    caps = Caps(max_workers, max_cpus, max_gpus, max_cost)
    decided = plan(demand, supply, CATALOGUE, Policy(caps=caps), NOW, 0.0)
    workers, cpus, gpus, cost = _totals(decided)
    existing_cost = busy * MEDIUM.price_per_hour
    if max_workers is not None:
        assert workers + busy <= max(max_workers, busy)
    if max_cpus is not None:
        assert cpus + busy * 2 <= max(max_cpus, busy * 2)
    if max_gpus is not None:
        assert gpus <= max_gpus
    if max_cost is not None:
        assert cost + existing_cost <= max(max_cost, existing_cost) + 1e-9
    for launch in decided.launches:  # alternatives never cost or count more than the choice
        for t in launch.alternatives:
            assert t.price_per_hour <= launch.type.price_per_hour
            assert t.cpus <= launch.type.cpus and t.gpus <= launch.type.gpus
