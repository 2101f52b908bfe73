"""`annex replay` through a click group built here (cli/main.py registers it for real)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
import pytest
from tests.replay.traces import busy_trace, swf_line, write_trace

from condor_annex.cli.replay import register
from condor_annex.cli.runner import run

KEYS = {"paid_core_hours", "used_core_hours", "cost_usd", "mean_wait_s", "p95_wait_s",
        "unmatched_jobs"}  # fmt: skip


def _cli(said: list[str]) -> click.Group:
    @click.group()
    def cli() -> None:
        pass

    register(cli, said.append)
    return cli


def test_json_shape_and_sane_figures(tmp_path: Path) -> None:
    said: list[str] = []
    trace = busy_trace(tmp_path / "busy.swf")
    assert run(_cli(said), "annex", ["replay", str(trace), "--json"]) == 0
    data = json.loads("\n".join(said))
    assert set(data) == {"trace", "jobs", "policies"}
    assert data["trace"] == "busy.swf"
    assert data["jobs"] == 121
    assert set(data["policies"]) == {"annex", "static", "gcp-toolkit", "one-per-job"}
    for name, figures in data["policies"].items():
        assert set(figures) >= KEYS, name
        assert figures["unmatched_jobs"] == 0
        assert figures["used_core_hours"] == data["policies"]["annex"]["used_core_hours"]
        assert figures["paid_core_hours"] >= figures["used_core_hours"]
        assert figures["mean_wait_s"] >= 0 and figures["p95_wait_s"] >= 0
    static = data["policies"]["static"]
    assert static["mean_wait_s"] <= data["policies"]["annex"]["mean_wait_s"]
    # The annex is cheaper than an annex sized to wait no more (the point of elasticity).
    assert data["policies"]["annex"]["cost_usd"] < static["cost_usd"]


def test_unmatchable_jobs_never_run_and_cause_no_growth(tmp_path: Path) -> None:
    said: list[str] = []
    trace = write_trace(tmp_path / "t.swf", [swf_line(1, 0, 100, 1), swf_line(2, 10, 100, 4096)])
    args = ["replay", str(trace), "--json", "--instance-types", "c6i.large,c6i.xlarge"]
    assert run(_cli(said), "annex", args) == 0
    annex = json.loads("\n".join(said))["policies"]["annex"]
    assert annex["unmatched_jobs"] == 1
    assert annex["workers_launched"] == 1


def test_text_report_and_plot(tmp_path: Path) -> None:
    said: list[str] = []
    trace = busy_trace(tmp_path / "busy.swf")
    png = tmp_path / "replay.png"
    assert run(_cli(said), "annex", ["replay", str(trace), "--plot", str(png)]) == 0
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    text = "\n".join(said)
    assert "paid/used" in text and "static:" in text and "catalogue:" in text


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["replay", "/nonexistent/trace.swf"], "no trace file"),
        (["replay", "{trace}", "--idle", "soon"], "not a duration"),
        (["replay", "{trace}", "--instance-types", "nope.large"], "allows no type"),
        (["replay", "{trace}", "--catalogue", "/nonexistent.json"], "no catalogue file"),
        (["replay", "{trace}", "--baseline-type", "nope"], "not in the catalogue"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    trace = write_trace(tmp_path / "t.swf", [swf_line(1, 0, 100, 1)])
    argv = [a.format(trace=trace) for a in args]
    assert run(_cli([]), "annex", argv) == 2
    err = capsys.readouterr().err
    assert message in err
    assert err.count("\n") == 1


def test_plot_without_matplotlib_names_the_extra(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # as if it were not installed
    trace = write_trace(tmp_path / "t.swf", [swf_line(1, 0, 100, 1)])
    png = tmp_path / "x.png"
    assert run(_cli([]), "annex", ["replay", str(trace), "--plot", str(png)]) == 2
    err = capsys.readouterr().err
    assert "pip install 'condor-annex[plot]'" in err
    assert err.count("\n") == 1
    assert not png.exists()
