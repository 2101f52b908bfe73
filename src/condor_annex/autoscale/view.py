"""What the controller shows: one view per annex, kept in the record (`annex status NAME`)
and advertised to the collector as a generic ClassAd, so HTCondor's own tools see it:

    condor_status -any -constraint 'MyType == "AnnexAutoscaler"' -af AnnexName IdleJobs

Both come from the same dictionary, so they always say the same.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import classad2
import htcondor2

from condor_annex.observe import ExecutePoint
from condor_annex.planning import IdleAutocluster, Plan, Worker
from condor_annex.spending import Spend

MY_TYPE = "AnnexAutoscaler"
# (view key, ClassAd attribute): the ad carries every value of the view that is flat.
ATTRIBUTES = (
    ("updated_at", "LastUpdate"),
    ("idle_jobs", "IdleJobs"),
    ("idle_autoclusters", "IdleAutoclusters"),
    ("waiting_jobs", "WaitingJobs"),
    ("running_workers", "RunningWorkers"),
    ("in_flight_workers", "InFlightWorkers"),
    ("draining_workers", "DrainingWorkers"),
    ("free_cpus", "FreeCpus"),
    ("free_memory_mb", "FreeMemory"),
    ("launched_workers", "LaunchedWorkers"),
    ("burn_per_hour", "BurnRatePerHour"),
    ("committed_usd", "CommittedUSD"),
    ("spent_usd", "SpentUSD"),
    ("budget_usd", "BudgetUSD"),
    ("limits_hit", "LimitsHit"),
    ("unmatchable_jobs", "UnmatchableJobs"),
    ("unmatchable_autoclusters", "UnmatchableAutoclusters"),
    ("decision", "LastDecision"),
    ("ended", "Ended"),
)


def build_view(
    now: float,
    demand: Sequence[IdleAutocluster],
    supply: Sequence[Worker],
    points: dict[str, ExecutePoint],
    plan: Plan | None,
    spend: Spend,
    launched_workers: int,
    ended: str = "",
) -> dict[str, Any]:
    running = [w for w in supply if not w.in_flight and not w.draining]
    s = plan.spending if plan is not None else None
    unmatchable = [] if plan is None else list(plan.unmatchable)
    limits = sorted({x.limit for x in plan.limits}) if plan is not None else []
    return {
        "updated_at": round(now),
        "idle_jobs": sum(a.jobs for a in demand),
        "idle_autoclusters": len(demand),
        "waiting_jobs": 0 if plan is None else sum(p.waiting for p in plan.placements),
        "running_workers": len(running),
        "in_flight_workers": sum(1 for w in supply if w.in_flight),
        "draining_workers": sum(1 for w in supply if w.draining),
        "free_cpus": sum(p.free.cpus for p in points.values()),
        "free_memory_mb": sum(p.free.memory_mb for p in points.values()),
        "launched_workers": launched_workers,
        "burn_per_hour": round(spend.burn_per_hour or 0.0, 6),
        "committed_usd": 0.0 if s is None else round(s.committed_usd, 6),
        "spent_usd": round(spend.spent_usd or 0.0, 6),
        "budget_usd": spend.budget_usd,
        "limits_hit": ",".join(limits),
        "limits": [] if plan is None else [x.reason() for x in plan.limits],
        "unmatchable_jobs": sum(u.jobs for u in unmatchable),
        "unmatchable_autoclusters": ",".join(u.autocluster for u in unmatchable),
        "unmatchable": [
            {"autocluster": u.autocluster, "jobs": u.jobs, "why": u.why} for u in unmatchable
        ],
        "decision": "; ".join(plan.reasons()) if plan is not None else "",
        "ended": ended,
    }


def ad_name(annex: str) -> str:
    return f"{annex}@annex-autoscaler"


def view_ad(annex: str, view: dict[str, Any], lifetime: int) -> classad2.ClassAd:
    ad = classad2.ClassAd({"MyType": MY_TYPE, "Name": ad_name(annex), "AnnexName": annex})
    for key, attribute in ATTRIBUTES:
        value = view.get(key)
        if value is not None:
            ad[attribute] = value
    # The collector drops the ad by itself if the controller stops refreshing it.
    ad["ClassAdLifetime"] = lifetime
    return ad


def advertise(collector: str, annex: str, view: dict[str, Any], lifetime: int) -> None:
    htcondor2.Collector(collector).advertise([view_ad(annex, view, lifetime)], "UPDATE_AD_GENERIC")


def withdraw(collector: str, annex: str) -> None:
    query = classad2.ClassAd({"MyType": "Query", "TargetType": MY_TYPE})
    query["Requirements"] = classad2.ExprTree(f"Name == {classad2.quote(ad_name(annex))}")
    htcondor2.Collector(collector).advertise([query], "INVALIDATE_ADS_GENERIC")
