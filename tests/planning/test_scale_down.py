"""A worker is released only when unclaimed for the idle time, older than the minimum life,
and not needed by the plan; running jobs are never touched; late workers are failed."""

from __future__ import annotations

from tests.planning.builders import CATALOGUE, LARGE, MEDIUM, autocluster, running

from condor_annex.planning import Policy, Timing, Worker, plan

NOW = 100_000.0
POLICY = Policy(timing=Timing(idle_s=600, min_life_s=1800, boot_timeout_s=900))


def test_only_a_worker_meeting_every_condition_goes() -> None:
    supply = [
        running("goes", MEDIUM, started_at=NOW - 3600, unclaimed_since=NOW - 700),
        running("idle-too-short", MEDIUM, started_at=NOW - 3600, unclaimed_since=NOW - 500),
        running("too-young", MEDIUM, started_at=NOW - 1000, unclaimed_since=NOW - 900),
        running("busy", MEDIUM, started_at=NOW - 9000, claimed=True),
    ]
    decided = plan([], supply, CATALOGUE, POLICY, NOW, 0.0)
    assert [r.worker_id for r in decided.releases] == ["goes"]
    reason = decided.releases[0].reason
    assert "unclaimed for 11m40s" in reason and "no idle job needs it" in reason


def test_a_worker_the_plan_needs_stays() -> None:
    old_idle = running("needed", LARGE, started_at=NOW - 7200, unclaimed_since=NOW - 7000)
    decided = plan([autocluster(1, jobs=2)], [old_idle], CATALOGUE, POLICY, NOW, 0.0)
    assert decided.releases == ()
    assert decided.needed == ("needed",)
    assert decided.launches == ()


def test_draining_workers_offer_no_room() -> None:
    leaving = Worker("leaving", LARGE, LARGE.resources, draining=True, unclaimed_since=NOW)
    decided = plan([autocluster(1, jobs=1)], [leaving], CATALOGUE, POLICY, NOW, 0.0)
    assert decided.placements[0].new == 1


def test_in_flight_past_the_boot_timeout_is_failed_not_coming() -> None:
    late = Worker.starting("late", LARGE, launched_at=NOW - 1000)
    fresh = Worker.starting("fresh", MEDIUM, launched_at=NOW - 100)
    decided = plan([autocluster(1, jobs=6)], [late, fresh], CATALOGUE, POLICY, NOW, 0.0)
    assert decided.failed == ("late",)
    (placement,) = decided.placements
    assert (placement.in_flight, placement.new) == (2, 4)
    assert any("failed to join in time" in line for line in decided.reasons())
