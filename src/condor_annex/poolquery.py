"""What the pool says: annex slots and masters in the collector, jobs in the schedd.

All through the official bindings. Collector and schedd READ queries need no token.
"""

from __future__ import annotations

from dataclasses import dataclass

import classad2
import htcondor2

SLOT_ATTRS = ["Name", "State", "Activity", "AnnexName", "AnnexInstanceID", "Cpus", "Memory"]


@dataclass(frozen=True)
class Slot:
    name: str
    instance_id: str
    state: str
    activity: str

    @property
    def claimed(self) -> bool:
        return self.state == "Claimed"


def annex_constraint(name: str | None) -> str:
    """Exactly HTCondor's own selection: AnnexName =?= "NAME", or IsAnnex without a name."""
    if name is None:
        return "IsAnnex =?= True"
    return f"AnnexName =?= {classad2.quote(name)}"


def daemon_names(collector: str) -> set[str]:
    """Ad types the collector holds; empty while the collector is not answering yet."""
    try:
        ads = htcondor2.Collector(collector).query(htcondor2.AdType.Any, projection=["MyType"])
    except htcondor2.HTCondorException:
        return set()
    return {str(ad.get("MyType")) for ad in ads}


def annex_slots(collector: str, name: str | None = None) -> list[Slot]:
    ads = htcondor2.Collector(collector).query(
        htcondor2.AdType.Startd, constraint=annex_constraint(name), projection=SLOT_ATTRS
    )
    return [
        Slot(
            name=str(ad.get("Name", "")),
            instance_id=str(ad.get("AnnexInstanceID", "")),
            state=str(ad.get("State", "")),
            activity=str(ad.get("Activity", "")),
        )
        for ad in ads
    ]


def annex_masters(collector: str, name: str | None = None) -> list[str]:
    """AnnexInstanceID of every master the annex advertises."""
    ads = htcondor2.Collector(collector).query(
        htcondor2.AdType.Master, constraint=annex_constraint(name), projection=["AnnexInstanceID"]
    )
    return [str(ad.get("AnnexInstanceID", "")) for ad in ads]


def schedd_jobs(collector: str, constraint: str, projection: list[str]) -> list[classad2.ClassAd]:
    location = htcondor2.Collector(collector).locate(htcondor2.DaemonType.Schedd)
    return list(htcondor2.Schedd(location).query(constraint=constraint, projection=projection))


def job_history(collector: str, constraint: str, projection: list[str]) -> list[classad2.ClassAd]:
    location = htcondor2.Collector(collector).locate(htcondor2.DaemonType.Schedd)
    return list(htcondor2.Schedd(location).history(constraint, projection))
