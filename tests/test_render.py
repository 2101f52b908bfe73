"""`annex status` output: whole values at any width, plain text in a pipe, long id lists
summarised (the full list stays in --json)."""

from __future__ import annotations

import io
import json

import pytest
from rich.console import Console

from condor_annex.cli.render import print_status, status_json, status_row
from condor_annex.status import AnnexStatus

IDS = [f"annex-big-{n:03d}" for n in range(70)]


def _status(name: str = "big", not_in_pool: list[str] | None = None) -> AnnexStatus:
    return AnnexStatus(
        name=name,
        provider="local",
        requested=70,
        running=70,
        gone=2,
        states={"running": 68, "booting": 2, "gone": 2},
        gone_reasons={"idle": 1, "lease": 1},
        slots=68,
        claimed=40,
        unclaimed=28,
        lease_end=0.0,
        lease_left_seconds=7000.0,
        idle_seconds=900,
        not_in_pool=not_in_pool or [],
        cost_note="$0.00 (local workers cost nothing)",
    )


def _render(statuses: list[AnnexStatus], width: int, terminal: bool) -> str:
    out = io.StringIO()
    console = Console(file=out, width=width, force_terminal=terminal, color_system=None)
    print_status(statuses, console)
    return out.getvalue()


@pytest.mark.parametrize("width", [20, 40, 80])
def test_a_pipe_gets_plain_text_with_every_value_whole(width: int) -> None:
    statuses = [_status(), _status("classic-annex")]
    text = _render(statuses, width, terminal=False)
    assert "…" not in text
    assert not any(ch in text for ch in "┃│━─┏┡"), "no box drawing in a pipe"
    lines = text.splitlines()
    assert lines[0].split() == [
        "annex", "prov", "want", "boot", "run", "gone", "slots", "claim", "unclm", "lease", "idle",
    ]  # fmt: skip
    for s, line in zip(statuses, lines[1:3], strict=True):
        for value in status_row(s):
            assert value in line, (value, line)
    assert "big: cost $0.00 (local workers cost nothing)" in lines


@pytest.mark.parametrize("width", [30, 50])
def test_a_narrow_terminal_gets_whole_values_not_ellipses(width: int) -> None:
    text = _render([_status(), _status("classic-annex")], width, terminal=True)
    assert "…" not in text
    words = " ".join(text.split())  # a terminal may wrap a long line between words
    for value in (*status_row(_status("classic-annex")), "local workers cost nothing"):
        assert value in words, value


def test_a_wide_terminal_gets_the_table() -> None:
    text = _render([_status()], 120, terminal=True)
    assert "┃ annex" in text or "│ annex" in text
    assert "…" not in text and "local" in text


def test_many_instances_not_in_the_pool_are_summarised_and_json_keeps_all() -> None:
    status = _status(not_in_pool=IDS)
    text = _render([status], 80, terminal=False)
    (line,) = [x for x in text.splitlines() if "not in the pool" in x]
    assert line.startswith("big: 70 running but not in the pool: ")
    assert "annex-big-000, annex-big-001, annex-big-002 and 67 more" in line
    assert "annex-big-069" not in text
    assert json.loads(status_json([status]))[0]["not_in_pool"] == IDS


def test_a_few_instances_are_all_named() -> None:
    text = _render([_status(not_in_pool=IDS[:4])], 80, terminal=False)
    assert "annex-big-000, annex-big-001, annex-big-002, annex-big-003" in text
    assert "more" not in text
