"""Can the jobs of an autocluster run on a worker of a given type? A real two-way ClassAd
match (classad2) between the autocluster ad and a hypothetical machine ad for the type,
evaluated once per (autocluster, type shape) and cached, never once per job."""

from __future__ import annotations

import classad2

# Importing htcondor2 registers HTCondor's own ClassAd functions (stringListMember and
# friends) with classad2; without it a START such as the owners' evaluates to an error.
import htcondor2  # noqa: F401

from condor_annex.planning.catalogue import WorkerType
from condor_annex.planning.demand import IdleAutocluster
from condor_annex.planning.policy import Policy

# The shape of a type, which is all a machine ad (and so a match) depends on: price is not.
_Shape = tuple[int, int, int, int, str, str]

_REMEMBERED_ADS = 10_000
_UNKNOWN = "unknown"  # a sentinel: None is an answer (it fits)

WHY_TOO_SMALL = "too small"
WHY_GPU = "a GPU type, for jobs that need no GPU"
WHY_NO_MATCH = "the ClassAd match fails"


def _shape(worker_type: WorkerType) -> _Shape:
    t = worker_type
    return (t.cpus, t.memory_mb, t.disk_mb, t.gpus, t.arch, t.opsys)


def machine_ad(worker_type: WorkerType, policy: Policy) -> classad2.ClassAd:
    """The partitionable slot an empty worker of this type would advertise."""
    t = worker_type
    ad = classad2.ClassAd(
        {
            "MyType": "Machine",
            "Name": f"{t.name}@hypothetical",
            "SlotType": "Partitionable",
            "PartitionableSlot": True,
            "Cpus": t.cpus,
            "TotalCpus": t.cpus,
            "Memory": t.memory_mb,
            "TotalMemory": t.memory_mb,
            "Disk": t.disk_mb * 1024,  # HTCondor's Disk is KiB
            "TotalDisk": t.disk_mb * 1024,
            "GPUs": t.gpus,
            "TotalGPUs": t.gpus,
            "Arch": t.arch,
            "OpSys": t.opsys,
            "HasFileTransfer": True,
            "AnnexName": policy.annex_name,
            "IsAnnex": True,
            "AnnexInstanceType": t.name,
        }
    )
    ad["START"] = classad2.ExprTree(policy.start)
    ad["Requirements"] = classad2.ExprTree("START")
    return ad


class Matcher:
    """Feasibility of (autocluster, type) pairs for one policy, cached across plans.

    The cache key is the autocluster ad's text (less JobCount), so a schedd reusing an
    AutoClusterId for other jobs is matched afresh. Keep one Matcher per policy; make a new
    one when the annex's START changes.
    """

    def __init__(self, policy: Policy) -> None:
        self._policy = policy
        self._ads: dict[_Shape, classad2.ClassAd] = {}
        self._answers: dict[tuple[str, _Shape], str | None] = {}
        self._texts: dict[int, tuple[classad2.ClassAd, str]] = {}
        self.evaluations = 0  # how many ClassAd matches ran (tests and benches read it)

    def _text(self, ac: IdleAutocluster) -> str:
        # Printing an ad costs more than a lookup; remember it per ad object.
        known = self._texts.get(id(ac.ad))
        if known is None or known[0] is not ac.ad:
            if len(self._texts) > _REMEMBERED_ADS:
                # A long-lived controller sees new ad objects every cycle: forget old ones.
                self._texts.clear()
                self._answers.clear()
            # JobCount changes every cycle and matters to no match: leave it out of the key.
            text = "\n".join(
                line for line in ac.ad.printOld().splitlines() if not line.startswith("JobCount ")
            )
            known = (ac.ad, text)
            self._texts[id(ac.ad)] = known
        return known[1]

    def fitting(self, ac: IdleAutocluster, types: list[WorkerType]) -> list[WorkerType]:
        """The types that can run this autocluster's jobs (why_not for many types at once)."""
        text, answers = self._text(ac), self._answers
        result = []
        for worker_type in types:
            shape = _shape(worker_type)
            known = answers.get((text, shape), _UNKNOWN)
            if known is _UNKNOWN:
                known = answers[(text, shape)] = self._decide(ac, worker_type, shape)
            if known is None:
                result.append(worker_type)
        return result

    def why_not(self, ac: IdleAutocluster, worker_type: WorkerType) -> str | None:
        """None when a worker of this type can run this autocluster's jobs, else why not."""
        shape = _shape(worker_type)
        key = (self._text(ac), shape)
        known = self._answers.get(key, _UNKNOWN)
        if known is _UNKNOWN:
            known = self._answers[key] = self._decide(ac, worker_type, shape)
        return known

    def _decide(self, ac: IdleAutocluster, worker_type: WorkerType, shape: _Shape) -> str | None:
        if ac.request.gpus == 0 and worker_type.gpus > 0:
            return WHY_GPU
        if worker_type.resources.how_many(ac.request) < 1:
            return WHY_TOO_SMALL
        machine = self._ads.get(shape)
        if machine is None:
            machine = self._ads[shape] = machine_ad(worker_type, self._policy)
        self.evaluations += 1
        return None if ac.ad.symmetricMatch(machine) else WHY_NO_MATCH
