"""Human output for status: a rich table; --json prints the same data as JSON."""

from __future__ import annotations

import json
from collections.abc import Sequence

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from condor_annex.durations import format_duration
from condor_annex.status import AnnexStatus


def status_json(statuses: Sequence[AnnexStatus]) -> str:
    return json.dumps([s.to_json() for s in statuses], indent=2)


def status_table(statuses: Sequence[AnnexStatus]) -> Table:
    table = Table(title="Annexes", title_justify="left")
    # Short headers keep the table whole in an 80-column terminal.
    columns = (
        "annex", "prov", "want", "boot", "run", "gone", "slots", "claim", "unclm", "lease", "idle",
    )  # fmt: skip
    for column in columns:
        table.add_column(column, justify="left" if column in ("annex", "prov") else "right")
    for s in statuses:
        gone = str(s.gone)
        if s.gone_reasons:
            gone += " (" + ", ".join(f"{n} {r}" for r, n in sorted(s.gone_reasons.items())) + ")"
        table.add_row(
            s.name,
            s.provider,
            str(s.requested),
            str(s.states.get("booting", 0)),
            str(s.states.get("running", 0)),
            gone,
            str(s.slots),
            str(s.claimed),
            str(s.unclaimed),
            format_duration(s.lease_left_seconds),
            format_duration(s.idle_seconds),
        )
    return table


def print_status(statuses: Sequence[AnnexStatus], console: Console) -> None:
    if not statuses:
        console.print("No annexes.")
        return
    console.print(status_table(statuses))
    for s in statuses:
        if s.stale:
            console.print(f"[yellow]{s.name}:[/] {escape(s.stale)}", highlight=False)
        if s.cost_note:
            console.print(f"{s.name}: cost {s.cost_note}", markup=False)
        if s.not_in_pool:
            console.print(
                f"[yellow]{s.name}: {len(s.not_in_pool)} running but not in the pool:[/] "
                + ", ".join(s.not_in_pool)
            )
