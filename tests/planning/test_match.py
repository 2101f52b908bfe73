"""Feasibility by a real two-way ClassAd match, START included; GPU types are kept for GPU
work; autoclusters nothing can run are reported and never cause growth."""

from __future__ import annotations

from tests.planning.builders import CATALOGUE, GPU, LARGE, MEDIUM, autocluster

from condor_annex.planning import Matcher, Policy, machine_ad, plan
from condor_annex.workerconfig import start_expression

NOW = 1_000.0
OWNERS = Policy(start=start_expression(("alice", "bob")), annex_name="owned")


def test_start_with_owners_excludes_another_users_autocluster() -> None:
    alice, eve = autocluster(1, 2, owner="alice"), autocluster(2, 2, owner="eve")
    decided = plan([alice, eve], [], CATALOGUE, OWNERS, NOW, 0.0)
    assert {ac for launch in decided.launches for ac, _ in launch.for_autoclusters} == {alice.id}
    (unmatchable,) = decided.unmatchable
    assert (unmatchable.autocluster, unmatchable.jobs) == (eve.id, 2)
    assert "ClassAd match fails" in unmatchable.why


def test_the_match_is_two_way() -> None:
    matcher = Matcher(OWNERS)
    # The machine side refuses eve (START); the job side refuses a machine without enough
    # memory by its own Requirements even though the arithmetic would not catch it here.
    assert matcher.why_not(autocluster(1, 1, owner="eve"), MEDIUM) is not None
    picky = autocluster(3, 1, requirements='TARGET.AnnexInstanceType == "large"')
    assert matcher.why_not(picky, MEDIUM) is not None
    assert matcher.why_not(picky, LARGE) is None
    ad = machine_ad(LARGE, OWNERS)
    assert ad["AnnexName"] == "owned"
    assert ad["IsAnnex"] is True
    assert ad["Disk"] == LARGE.disk_mb * 1024


def test_job_without_gpus_never_lands_on_a_gpu_type() -> None:
    # The GPU type is the cheapest in the catalogue and big enough; it must not be chosen.
    decided = plan([autocluster(1, 4, cpus=1)], [], CATALOGUE, Policy(), NOW, 0.0)
    assert decided.launches
    for launch in decided.launches:
        assert all(t.gpus == 0 for t in launch.alternatives)
    only_gpu = plan([autocluster(1, 4, cpus=1)], [], [GPU], Policy(), NOW, 0.0)
    assert only_gpu.launches == ()
    assert "GPU type" in only_gpu.unmatchable[0].why


def test_gpu_jobs_get_a_gpu_type() -> None:
    decided = plan([autocluster(1, 2, cpus=1, gpus=1)], [], CATALOGUE, Policy(), NOW, 0.0)
    assert [(launch.type.name, launch.count) for launch in decided.launches] == [("gpu", 2)]


def test_unmatchable_autoclusters_never_cause_growth() -> None:
    huge = autocluster(9, jobs=50, cpus=64)
    decided = plan([huge], [], CATALOGUE, Policy(), NOW, 0.0)
    assert decided.launches == ()
    assert decided.limits == ()
    assert [(u.autocluster, u.jobs) for u in decided.unmatchable] == [(huge.id, 50)]
    attributes = decided.classad_attributes()
    assert attributes["UnmatchableAutoclusters"] == huge.id
    assert attributes["UnmatchableJobs"] == 50
    assert attributes["PlannedLaunches"] == 0


def test_match_is_evaluated_once_per_autocluster_and_type() -> None:
    matcher = Matcher(Policy())
    demand = [autocluster(1, 3), autocluster(2, 5, cpus=2)]
    for _ in range(3):
        plan(demand, [], CATALOGUE, Policy(), NOW, 0.0, matcher)
    # Autocluster 1 fits small, medium, large; 2 fits medium and large; GPU is never matched.
    assert matcher.evaluations == 5
