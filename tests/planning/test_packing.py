"""Packing order and arithmetic: existing room first, then workers in flight, then new ones;
counts, not jobs one by one."""

from __future__ import annotations

from tests.planning.builders import CATALOGUE, LARGE, MEDIUM, SMALL, autocluster, running

from condor_annex.planning import Matcher, Policy, Resources, Worker, plan

NOW = 10_000.0


def test_existing_room_then_in_flight_then_new() -> None:
    ac = autocluster(1, jobs=10, cpus=1, memory_mb=512)
    existing = running("w-existing", LARGE, free=Resources(2, 4096, 50 * 1024, 0), claimed=True)
    flying = Worker.starting("w-flying", LARGE, launched_at=NOW - 30)
    decided = plan([ac], [existing, flying], CATALOGUE, Policy(), NOW, 0.0)
    (placement,) = decided.placements
    assert (placement.existing, placement.in_flight, placement.new) == (2, 4, 4)
    assert placement.waiting == 0
    assert set(decided.needed) == {"w-existing", "w-flying"}
    assert sum(launch.count for launch in decided.launches) > 0
    packed = {ac_id: n for launch in decided.launches for ac_id, n in launch.for_autoclusters}
    assert packed == {ac.id: 4}


def test_no_launch_when_existing_room_is_enough() -> None:
    ac = autocluster(1, jobs=3, cpus=1)
    idle = running("w1", LARGE, unclaimed_since=NOW - 5)
    decided = plan([ac], [idle], CATALOGUE, Policy(), NOW, 0.0)
    assert decided.launches == ()
    assert decided.needed == ("w1",)


def test_largest_first_and_smaller_jobs_fill_the_room_left() -> None:
    # One 3-CPU job opens a 4-CPU worker; the 1-CPU job goes into the CPU left over.
    big = autocluster(1, jobs=1, cpus=3, memory_mb=1024)
    small = autocluster(2, jobs=1, cpus=1, memory_mb=512)
    decided = plan([small, big], [], CATALOGUE, Policy(), NOW, 0.0)
    assert [(launch.type.name, launch.count) for launch in decided.launches] == [("large", 1)]
    assert dict(decided.launches[0].for_autoclusters) == {big.id: 1, small.id: 1}


def test_counts_are_arithmetic_not_per_job() -> None:
    few, many = autocluster(1, jobs=10, cpus=2), autocluster(1, jobs=100_000, cpus=2)
    matcher = Matcher(Policy())
    small_plan = plan([few], [], [MEDIUM, SMALL], Policy(), NOW, 0.0, matcher)
    evaluations = matcher.evaluations
    big_plan = plan([many], [], [MEDIUM, SMALL], Policy(), NOW, 0.0, matcher)
    assert [launch.count for launch in small_plan.launches] == [10]
    assert [launch.count for launch in big_plan.launches] == [100_000]
    # One ClassAd match for the one (autocluster, type) pair that fits, never one per job,
    # and none again for the same autocluster with another job count.
    assert evaluations == 1
    assert matcher.evaluations == 1


def test_type_choice_penalises_waste() -> None:
    # 1-CPU jobs of 512 MB: 'small' (1 CPU) costs 0.05 per job, 'medium' (2) 0.045 per job,
    # 'large' 0.05 per job with most memory idle: medium wins.
    decided = plan([autocluster(1, jobs=8, cpus=1)], [], CATALOGUE, Policy(), NOW, 0.0)
    assert [(launch.type.name, launch.count) for launch in decided.launches] == [("medium", 4)]
    assert decided.launches[0].alternatives[0].name == "medium"
    # Alternatives never cost more or count more CPUs against the caps than the choice.
    assert all(t.price_per_hour <= 0.09 and t.cpus <= 2 for t in decided.launches[0].alternatives)
