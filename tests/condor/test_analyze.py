"""condor_q -better-analyze explains why a job does not run on an owner-restricted annex:
the job is turned down by the slot's own requirements, and the slot's analysis, which the
first one points to, names START and the owners it admits."""

from __future__ import annotations

import time
from pathlib import Path

from tests.condor.jobs import USER, submit, wait_slots
from tests.condor.test_owner import rejected_since

from condor_annex import Annexes, poolquery
from condor_annex.waiting import wait_for


def test_better_analyze_names_the_owner_requirement(
    annexes: Annexes,
    jobdir: Path,
    cli,  # type: ignore[no-untyped-def]
) -> None:
    created = cli(
        "create", "alices", "--count", "1", "--owner", "alice",
        "--duration", "10m", "--idle", "5m", "--yes",
    )  # fmt: skip
    assert created.returncode == 0, created.stderr
    wait_slots(annexes, "alices", 1)
    in_pool = time.time()
    cluster = submit(annexes, jobdir, seconds=1)  # submitted by USER, not alice
    wait_for(lambda: rejected_since(annexes, cluster, in_pool), 60, "a rejected match", 0.5)

    job = cli("exec", "--user", USER, "--", "condor_q", "-better-analyze", str(cluster))
    assert job.returncode == 0, job.stderr
    assert "1 reject your job because of their own requirements" in job.stdout
    assert "0 are able to run your job" in job.stdout
    assert "-reverse -machine <name>" in job.stdout  # where to look next, as it says

    (slot,) = poolquery.annex_slots(annexes.pool.require_up().collector, "alices")
    args = ("condor_q", "-better-analyze", "-reverse", "-machine", slot.name, str(cluster))
    reverse = cli("exec", "--user", USER, "--", *args)
    assert reverse.returncode == 0, reverse.stderr
    lines = [line.split() for line in reverse.stdout.splitlines()]
    assert "START is" in reverse.stdout
    assert 'stringListMember(TARGET.Owner,"alice")' in reverse.stdout
    assert f'TARGET.Owner = "{USER}"' in reverse.stdout
    assert ["[0]", "0", "START"] in lines  # the one condition no job of the cluster meets
    assert "0 (0.00 %) match both slot and job requirements." in reverse.stdout
