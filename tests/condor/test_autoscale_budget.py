"""Spending limits of annexes, with real daemons and nominal local prices: a cost cap per
hour bounds how many workers run; a total budget makes an elastic annex, or a plain one
made with `annex create --budget`, drain and end once it is spent."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.condor.elastic import (
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

from condor_annex import Annexes, spending
from condor_annex.waiting import wait_for

pytestmark = pytest.mark.usefixtures("controller_log")


def test_a_cost_cap_that_allows_two_workers_never_runs_more(
    annexes: Annexes, jobdir: Path, cli
) -> None:  # type: ignore[no-untyped-def]
    negotiate_often(annexes)
    made = cli(
        "autoscale", "capped", "--shapes", "1x512M@0.01", "--max-cost-per-hour", "0.02",
        "--interval", "2s", "--idle", "30s", "--min-life", "10s", "--duration", "20m", "--yes",
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    wait_view(annexes, "capped", "updated_at")
    cluster = submit_shaped(annexes, jobdir, "capped", 1, 512, 8, 5)

    most, limits = 0, set()

    def all_done() -> bool:
        nonlocal most
        most = max(most, len(live(annexes, "capped")))
        limits.update(filter(None, state(annexes, "capped").view.get("limits_hit", "").split(",")))
        return not jobs(annexes, f"ClusterId == {cluster}")

    wait_for(all_done, 110, "the 5 jobs, two at a time", interval=0.25)
    assert most == 2
    assert "max_cost_per_hour" in limits
    workers = {w.id for w in record(annexes, "capped").workers}
    assert len(workers) == 2
    done = finished(annexes, f"ClusterId == {cluster}")
    assert sorted(ad["ExitCode"] for ad in done) == [0] * 5
    assert {str(ad["LastRemoteHost"]).split("@")[1] for ad in done} == workers
    assert cli("off", "capped").returncode == 0


# $0.05 a second: a worker's first minute (billed whole) is $3.00; the budget is spent
# 65 s after the worker starts, while its fourth 15 s job runs.
PRICE_PER_HOUR = 180.0
BUDGET = 3.25


def test_a_spent_budget_drains_and_ends_an_elastic_annex(
    annexes: Annexes, jobdir: Path, cli
) -> None:  # type: ignore[no-untyped-def]
    negotiate_often(annexes)
    made = cli(
        "autoscale", "spent", "--shapes", f"1x512M@{PRICE_PER_HOUR:g}", "--max-workers", "1",
        "--budget", f"{BUDGET:g}", "--interval", "2s", "--idle", "60s", "--min-life", "10s",
        "--duration", "20m", "--yes",
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    wait_view(annexes, "spent", "updated_at")
    cluster = submit_shaped(annexes, jobdir, "spent", 1, 512, 15, 6)

    wait_for(lambda: state(annexes, "spent").ended, 115, "the budget to end the annex", 0.5)
    final = state(annexes, "spent")
    assert final.ended == "budget spent"
    annex = record(annexes, "spent")
    assert annex.live_workers == []
    (worker,) = annex.workers  # one worker in all: nothing was launched once it was spent
    spent = spending.spend(annex, annex.workers[0].ended_at or 0)
    assert spent.spent_usd is not None and spent.spent_usd >= BUDGET
    # It drained: no job started after the drain was sent, so some never ran at all.
    drained_at = final.releasing[worker.id]
    done = finished(annexes, f"ClusterId == {cluster}")
    assert all(int(ad["JobStartDate"]) <= drained_at + 2 for ad in done)
    waiting = jobs(annexes, f"ClusterId == {cluster}")
    assert waiting and all(ad["JobStatus"] == 1 for ad in waiting)
    assert len(done) + len(waiting) == 6
    shown = cli("status", "spent")
    assert f"of a ${BUDGET:.2f} budget" in shown.stdout
    assert "controller done: budget spent" in shown.stdout


def test_budget_on_a_plain_annex(annexes: Annexes, cli) -> None:  # type: ignore[no-untyped-def]
    # Without a price for its workers the budget could not be kept: refused, nothing made.
    refused = cli(
        "create", "plain", "--count", "1", "--cpus", "1", "--memory", "512M", "--budget", "1",
        "--shapes", "2x1G@1", "--yes",
    )  # fmt: skip
    assert refused.returncode == 2, refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1 and "no price" in refused.stderr
    assert not annexes.store.has_annex("plain")

    # $72 an hour: the first minute, billed whole, is $1.20, over a $1 budget at once.
    made = cli(
        "create", "plain", "--count", "1", "--cpus", "1", "--memory", "512M", "--budget", "1",
        "--shapes", "1x512M@72", "--duration", "20m", "--idle", "10m", "--yes",
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    wait_for(lambda: state(annexes, "plain").ended, 60, "the budget to end the annex", 0.5)
    assert state(annexes, "plain").ended == "budget spent"
    assert live(annexes, "plain") == []
    shown = cli("status", "plain")
    assert "spent $1.2" in shown.stdout and "of a $1.00 budget" in shown.stdout
