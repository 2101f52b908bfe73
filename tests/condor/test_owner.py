"""--owner: an annex runs only its owners' jobs, judged by the real negotiator."""

from __future__ import annotations

import time
from pathlib import Path

from tests.condor.jobs import USER, queue, submit, wait_done, wait_slots

from condor_annex import Annexes, poolquery
from condor_annex.waiting import wait_for

IDLE = 1


def rejected_since(annexes: Annexes, cluster: int, since: float) -> bool:
    """The negotiator considered the job after `since` and found no slot for it."""
    collector = annexes.pool.require_up().collector
    ads = poolquery.schedd_jobs(
        collector, f"ClusterId == {cluster}", ["JobStatus", "LastRejMatchTime"]
    )
    return bool(ads) and all(int(ad.get("LastRejMatchTime", 0)) > since for ad in ads)


def test_annex_runs_only_its_owners_jobs(annexes: Annexes, jobdir: Path) -> None:
    annexes.create(
        annexes.request("theirs", 1, lease_seconds=600, idle_seconds=300, owners=["someoneelse"])
    )
    wait_slots(annexes, "theirs", 1)
    in_pool = time.time()
    cluster = submit(annexes, jobdir, seconds=1)

    # The negotiator looked at the job with the slot in the pool, and turned it down.
    wait_for(lambda: rejected_since(annexes, cluster, in_pool), 60, "a rejected match", 0.5)
    assert [ad["JobStatus"] for ad in queue(annexes, cluster)] == [IDLE]
    (status,) = annexes.status("theirs")
    assert status.claimed == 0

    mine = annexes.create(
        annexes.request("mine", 1, lease_seconds=600, idle_seconds=300, owners=[USER, "bob"])
    )
    (done,) = wait_done(annexes, cluster)
    assert done["ExitCode"] == 0 and done["Owner"] == USER
    assert str(done["LastRemoteHost"]).split("@")[1] == mine.workers[0].id
