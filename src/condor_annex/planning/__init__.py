"""The planning core of elastic annexes: one pure function from demand and supply to a plan.

`plan(demand, supply, catalogue, policy, now, spent_usd)` packs idle autoclusters (largest
first) into free room on existing workers, then workers in flight, then new workers chosen
from the catalogue, within the policy's caps, and says which workers can go. It does no
I/O and reads no clock: the controller (and the replay simulator) feed it.
"""

from condor_annex.planning.catalogue import Resources, WorkerType
from condor_annex.planning.demand import IdleAutocluster, Worker
from condor_annex.planning.match import Matcher, machine_ad
from condor_annex.planning.plan import Launch, LimitHit, Plan, Release, Unmatchable, plan
from condor_annex.planning.policy import Capacity, Caps, Policy, Spending, Timing

__all__ = [
    "Capacity",
    "Caps",
    "IdleAutocluster",
    "Launch",
    "LimitHit",
    "Matcher",
    "Plan",
    "Policy",
    "Release",
    "Resources",
    "Spending",
    "Timing",
    "Unmatchable",
    "Worker",
    "WorkerType",
    "machine_ad",
    "plan",
]
