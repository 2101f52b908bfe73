"""An elastic annex on the local provider, with real daemons: it starts with no workers,
grows to what the queue needs in fitting shapes, runs every job that can run, reports the
one no shape can run (in `annex status` and in its ClassAd), and goes back to zero."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.condor.elastic import (
    autoscaler_ads,
    controller_log,  # noqa: F401 - the fixture
    finished,
    jobs,
    live,
    negotiate_often,
    record,
    state,
    submit_shaped,
    wait_view,
)

from condor_annex import Annexes
from condor_annex.waiting import wait_for

pytestmark = pytest.mark.usefixtures("controller_log")


SHAPES = "1x512M@0.01,2x1536M@0.03"
IDLE, INTERVAL = 20, 5
# Ending a released worker: its startd leaves the pool, then the provider ends it.
ENDING = 10


def test_grows_from_zero_to_what_the_jobs_need_and_back(
    annexes: Annexes, jobdir: Path, cli
) -> None:  # type: ignore[no-untyped-def]
    negotiate_often(annexes)
    made = cli(
        "autoscale", "el", "--shapes", SHAPES, "--interval", f"{INTERVAL}s", "--idle", f"{IDLE}s",
        "--min-life", "10s", "--duration", "30m", "--yes",
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    assert "no workers" in made.stdout
    first = wait_view(annexes, "el", "updated_at")
    assert first["idle_jobs"] == 0 and live(annexes, "el") == []  # it starts with none

    small = submit_shaped(annexes, jobdir, "small", 1, 512, 10, 4)
    large = submit_shaped(annexes, jobdir, "large", 2, 1536, 10, 4)
    huge = submit_shaped(annexes, jobdir, "huge", 8, 65536, 10, 1)
    matchable = f"ClusterId == {small} || ClusterId == {large}"
    wait_for(lambda: not jobs(annexes, matchable), 150, "the 8 matchable jobs", 1.0)
    done = finished(annexes, matchable)
    last_end = max(int(ad["CompletionDate"]) for ad in done)

    # Every matchable job ran, on a worker of this annex.
    workers = record(annexes, "el").workers
    assert sorted(ad["ExitCode"] for ad in done) == [0] * 8
    assert {str(ad["LastRemoteHost"]).split("@")[1] for ad in done} <= {w.id for w in workers}
    # Fitting shapes, and no more than the jobs need: each 2-CPU job needs a 2x1536M
    # worker; the 1-CPU jobs fit on 1x512M workers or on a 2x1536M one's spare room.
    shapes = sorted(str(w.data["type"]) for w in workers)
    assert set(shapes) <= {"1x512M", "2x1536M"}
    assert shapes.count("2x1536M") == 4, shapes
    assert len(workers) <= 8
    assert sum(2 if s == "2x1536M" else 1 for s in shapes) <= 4 * 1 + 4 * 2
    assert state(annexes, "el").launched_workers() == len(workers)

    # The job no shape can run started nothing and is reported, in status and in the ad.
    (waiting,) = jobs(annexes, f"ClusterId == {huge}")
    assert waiting["JobStatus"] == 1 and waiting.get("NumJobStarts", 0) == 0
    shown = cli("status", "el")
    assert shown.returncode == 0, shown.stderr
    assert "unmatchable:" in shown.stdout and "8cpu-65536MB" in shown.stdout
    view = state(annexes, "el").view
    (unmatchable,) = view["unmatchable"]
    assert "8cpu-65536MB" in unmatchable["autocluster"] and unmatchable["jobs"] == 1
    (ad,) = autoscaler_ads(annexes)
    assert ad["AnnexName"] == "el"
    assert ad["UnmatchableAutoclusters"] == view["unmatchable_autoclusters"]
    assert ad["UnmatchableJobs"] == 1
    assert ad["LaunchedWorkers"] == len(workers)

    # Back to zero within the idle time and one interval after the last job ended (plus
    # the few seconds the provider takes to end a released worker).
    wait_for(lambda: not live(annexes, "el"), IDLE + INTERVAL + ENDING + 30, "zero workers", 0.5)
    zero_after = max(w.ended_at or 0 for w in record(annexes, "el").workers) - last_end
    print(f"back to zero workers {zero_after:.1f} s after the last job ended")
    assert zero_after <= IDLE + INTERVAL + ENDING, zero_after
    assert {w.gone_reason for w in record(annexes, "el").workers} == {"exited"}

    off = cli("off", "el")
    assert off.returncode == 0, off.stderr
    assert state(annexes, "el").ended == "turned off"
    assert autoscaler_ads(annexes) == []
