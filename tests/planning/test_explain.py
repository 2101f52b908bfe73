"""Every launch says which autoclusters it is for; every stop says which limit; the plan
serialises for a status command and a ClassAd."""

from __future__ import annotations

import json

import classad2
from tests.planning.builders import CATALOGUE, autocluster

from condor_annex.planning import Caps, IdleAutocluster, Policy, plan

NOW = 5_000.0


def test_reasons_and_json() -> None:
    demand = [autocluster(1, 3), autocluster(2, 2, cpus=2), autocluster(3, 1, cpus=99)]
    decided = plan(demand, [], CATALOGUE, Policy(caps=Caps(max_workers=2)), NOW, 0.0)
    text = "\n".join(decided.reasons())
    assert "launch 2 x medium" in text and "for schedd/2 (2 jobs)" in text
    assert "growth stopped by max_workers for schedd/1 (3 jobs left)" in text
    assert "unmatchable: schedd/3 (1 job)" in text
    data = json.loads(json.dumps(decided.to_json()))
    assert data["launches"][0]["for_autoclusters"] == {"schedd/2": 2}
    assert data["limits"][0]["limit"] == "max_workers"
    assert data["unmatchable"][0]["autocluster"] == "schedd/3"
    assert data["spending"]["spent_usd"] == 0.0


def test_classad_attributes_make_an_ad() -> None:
    decided = plan([autocluster(1, 4)], [], CATALOGUE, Policy(caps=Caps(max_workers=1)), NOW, 0)
    ad = classad2.ClassAd(decided.classad_attributes())
    assert ad["LimitsHit"] == "max_workers"
    assert ad["PlannedLaunches"] == 1
    assert ad["IdleJobs"] == 4
    assert ad["WaitingJobs"] == 2  # one medium holds 2 of the 4 one-CPU jobs


def test_autocluster_read_from_a_schedd_ad() -> None:
    ad = classad2.ClassAd({"AutoClusterId": 7, "JobCount": 12, "RequestCpus": 2,
                           "RequestDisk": 2 * 1024 * 1024, "ImageSize": 2048})  # fmt: skip
    ad["RequestMemory"] = classad2.ExprTree(
        "ifThenElse(MemoryUsage =!= undefined, MemoryUsage, (ImageSize + 1023) / 1024)"
    )
    ac = IdleAutocluster.from_ad(ad, "submit.example.org")
    assert ac.id == "submit.example.org/7"
    assert ac.jobs == 12
    assert (ac.request.cpus, ac.request.memory_mb, ac.request.disk_mb, ac.request.gpus) == (
        2, 2, 2048, 0,
    )  # fmt: skip
