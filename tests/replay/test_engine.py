"""The simulation itself: waits, billing, the static size search, and the same plan()."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.replay.traces import busy_trace, swf_line, write_trace

from condor_annex.planning import Caps, Policy, Timing
from condor_annex.replay.catalogue import load_catalogue
from condor_annex.replay.compare import smallest_static
from condor_annex.replay.controllers import AnnexController, StaticController
from condor_annex.replay.engine import Outcome, simulate
from condor_annex.replay.swf import read_swf

TYPES = list(load_catalogue().types)


def test_one_job_waits_for_boot_and_interval_and_is_billed(tmp_path: Path) -> None:
    trace = read_swf(write_trace(tmp_path / "t.swf", [swf_line(1, 30, 600, 2)]))
    policy = Policy(timing=Timing(idle_s=60, min_life_s=60))
    outcome = simulate(trace, AnnexController(TYPES, policy), boot_s=120, interval_s=60)
    # Submitted at 0 (the trace starts there), planned at the tick at 0, joined at 120.
    assert outcome.mean_wait_s == 120
    assert outcome.workers_launched == 1
    # Paid from launch (0) until released at the first tick 60 s after the job ended (720).
    assert outcome.paid_core_hours == pytest.approx(2 * 780 / 3600)
    assert outcome.used_core_hours == pytest.approx(2 * 600 / 3600)


def test_budget_caps_what_the_annex_starts(tmp_path: Path) -> None:
    trace = read_swf(busy_trace(tmp_path / "busy.swf"))
    policy = Policy(caps=Caps(max_cost_per_hour=0.2), timing=Timing(idle_s=60, min_life_s=60))
    outcome = simulate(trace, AnnexController(TYPES, policy), boot_s=120, interval_s=60)
    assert max(s.capacity_cpus for s in outcome.timeline) <= 4  # 0.2 $/h buys 4 c6i CPUs
    assert outcome.unmatched_jobs == 0
    assert all(s.spent_usd >= 0 for s in outcome.timeline)


def test_static_runs_for_the_whole_trace(tmp_path: Path) -> None:
    trace = read_swf(busy_trace(tmp_path / "busy.swf"))
    c6i = next(t for t in TYPES if t.name == "c6i.2xlarge")
    outcome = simulate(trace, StaticController(c6i, 2), boot_s=120, interval_s=60)
    assert outcome.workers_launched == 2
    assert outcome.paid_core_hours == pytest.approx(2 * 8 * outcome.end_s / 3600)


def _fake(wait: float) -> Outcome:
    return Outcome("static", 0, 0, 0, wait, wait, 0, 0, 0, 0, 0, 0, [])


def test_static_search_finds_the_smallest_size() -> None:
    sizes: list[int] = []

    def run(size: int) -> Outcome:
        sizes.append(size)
        return _fake(1000.0 / size)  # wait falls with size

    size, outcome, tried = smallest_static(run, target_wait_s=30.0)
    assert [s for s, _ in tried] == sizes
    assert size == 34  # 1000/34 = 29.4 <= 30 < 1000/33 = 30.3
    assert outcome.mean_wait_s <= 30.0
    assert len(sizes) == len(set(sizes)) <= 14  # doubling then bisection, each size once
