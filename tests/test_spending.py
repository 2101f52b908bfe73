"""Spend from the records (per-second billing, a one-minute minimum, burn of running
workers) and how `annex status` shows it and the controller's view, for every annex."""

from __future__ import annotations

import io

from rich.console import Console

from condor_annex.cli.render import autoscaler_lines, print_status, spend_line
from condor_annex.lifecycle import GoneReason, WorkerState
from condor_annex.model import AnnexRecord, WorkerRecord
from condor_annex.spending import spend
from condor_annex.status import annex_status

NOW = 10_000.0


def _record(price: float | None = None, budget: float | None = None) -> AnnexRecord:
    return AnnexRecord("a", "p", 2, NOW + 3600, 600, 1, 512, created_at=0.0, budget_usd=budget,
                       price_per_hour=price)  # fmt: skip


def _worker(wid: str, started: float, state: WorkerState, ended: float | None = None,
            price: float | None = None) -> WorkerRecord:  # fmt: skip
    worker = WorkerRecord(wid, "", state=state, started_at=started, ended_at=ended)
    if state == WorkerState.GONE:
        worker.gone_reason = GoneReason.EXITED
    if price is not None:
        worker.data["price_per_hour"] = price
    return worker


def test_spend_bills_per_second_with_a_minute_minimum_and_burns_running_workers() -> None:
    record = _record()
    record.workers = [
        _worker("long", NOW - 1800, WorkerState.RUNNING, price=3.6),  # half an hour: $1.80
        _worker("short", NOW - 100, WorkerState.GONE, ended=NOW - 90, price=36.0),  # 60 s: $0.60
        _worker("booting", NOW - 5, WorkerState.BOOTING, price=7.2),  # 60 s minimum: $0.12
    ]
    found = spend(record, NOW)
    assert found.spent_usd is not None and abs(found.spent_usd - 2.52) < 1e-9
    assert found.burn_per_hour == 3.6  # running workers only: booting ones are in flight


def test_a_plain_annex_is_priced_by_its_own_price_and_an_unpriced_one_says_so() -> None:
    priced = _record(price=0.5, budget=0.01)
    priced.workers = [_worker("w", NOW - 7200, WorkerState.RUNNING)]
    found = spend(priced, NOW)
    assert found.spent_usd == 1.0 and found.burn_per_hour == 0.5 and found.over_budget
    assert spend(_record(), NOW).spent_usd is None
    assert spend(_record(), NOW).over_budget is False


def test_status_shows_spend_and_the_controller_for_every_annex() -> None:
    record = _record(price=0.5, budget=2.0)
    record.workers = [_worker("w", NOW - 3600, WorkerState.RUNNING)]
    record.autoscale = {
        "policy": {"interval_s": 5},
        "view": {
            "updated_at": NOW, "idle_jobs": 3, "idle_autoclusters": 2, "waiting_jobs": 1,
            "running_workers": 1, "in_flight_workers": 1, "draining_workers": 0, "free_cpus": 0,
            "launched_workers": 2, "limits": ["growth stopped by max_workers for x (1 job left)"],
            "unmatchable": [{"autocluster": "s/alice/8cpu-65536MB-abc", "jobs": 1,
                             "why": "too big"}],
        },
        "ended": "",
    }  # fmt: skip
    status = annex_status(record, [], now=NOW)
    assert (status.spent_usd, status.burn_per_hour, status.budget_usd) == (0.5, 0.5, 2.0)
    assert spend_line(status) == "spent $0.5000 of a $2.00 budget, burning $0.5000/h"
    lines = autoscaler_lines(status)
    assert lines[0].startswith("controller: 3 idle jobs in 2 autoclusters (1 held back")
    assert "limit: growth stopped by max_workers" in lines[1]
    assert lines[2] == "unmatchable: s/alice/8cpu-65536MB-abc (1 job): too big"

    plain = annex_status(_record(), [], now=NOW)
    assert spend_line(plain) == "spent: no price known" and autoscaler_lines(plain) == []
    out = io.StringIO()
    print_status([status, plain], Console(file=out, width=200, color_system=None))
    text = out.getvalue()
    assert "a: spent $0.5000 of a $2.00 budget" in text and "a: spent: no price known" in text
