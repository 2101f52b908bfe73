"""Human output for status; --json prints the same data as JSON.

Every value is printed whole at any width: a rich table when it fits the terminal, one
block per annex when it does not, and plain aligned text when the output is not a
terminal (a pipe or a file), so scripts and `less` see neither styles nor "loc…".
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from rich.console import Console
from rich.markup import escape
from rich.measure import Measurement
from rich.table import Table

from condor_annex.durations import format_duration
from condor_annex.planning.outcome import jobs_text
from condor_annex.status import AnnexStatus

# (header, name in the one-block-per-annex layout). Short headers keep the table whole in
# an 80-column terminal; the block layout has room for the long names.
FIELDS = (
    ("annex", "annex"),
    ("prov", "provider"),
    ("want", "requested"),
    ("boot", "booting"),
    ("run", "running"),
    ("gone", "gone"),
    ("slots", "slots"),
    ("claim", "claimed"),
    ("unclm", "unclaimed"),
    ("lease", "lease left"),
    ("idle", "idle limit"),
)
COLUMNS = tuple(header for header, _ in FIELDS)
LEFT = ("annex", "prov")
IDS_SHOWN = 3  # instance ids listed by name before "and N more"


def status_json(statuses: Sequence[AnnexStatus]) -> str:
    return json.dumps([s.to_json() for s in statuses], indent=2)


def status_row(s: AnnexStatus) -> tuple[str, ...]:
    gone = str(s.gone)
    if s.gone_reasons:
        gone += " (" + ", ".join(f"{n} {r}" for r, n in sorted(s.gone_reasons.items())) + ")"
    return (
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


def status_table(statuses: Sequence[AnnexStatus]) -> Table:
    table = Table(title="Annexes", title_justify="left")
    for column in COLUMNS:
        justify = "left" if column in LEFT else "right"
        table.add_column(column, justify=justify, no_wrap=True)
    for s in statuses:
        table.add_row(*status_row(s))
    return table


def plain_table(rows: Sequence[Sequence[str]]) -> str:
    """Columns padded with spaces (the first row is the header); nothing is ever cut."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(COLUMNS))]
    lines = []
    for row in rows:
        cells = [
            cell.ljust(width) if column in LEFT else cell.rjust(width)
            for column, cell, width in zip(COLUMNS, row, widths, strict=True)
        ]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)


def blocks(statuses: Sequence[AnnexStatus]) -> str:
    """One block of `name: value` lines per annex, for terminals too narrow for the table."""
    width = max(len(name) for _, name in FIELDS)
    out = []
    for s in statuses:
        for (_, name), value in zip(FIELDS, status_row(s), strict=True):
            out.append(f"{name:<{width}}  {value}")
        out.append("")
    return "\n".join(out).rstrip()


def summarise_ids(ids: Sequence[str], shown: int = IDS_SHOWN) -> str:
    """A few ids and how many more: a 70-worker annex must not print 70 ids on a line."""
    if len(ids) <= shown + 1:  # "and 1 more" would be no shorter than the id itself
        return ", ".join(ids)
    return ", ".join(ids[:shown]) + f" and {len(ids) - shown} more (--json lists all)"


def _natural_width(console: Console, table: Table) -> int:
    """The width the table takes when nothing is cut (measured without the console's limit)."""
    unlimited = console.options.update_width(10_000)
    return Measurement.get(console, unlimited, table).maximum


def print_status(statuses: Sequence[AnnexStatus], console: Console) -> None:
    if not statuses:
        console.print("No annexes.")
        return
    terminal = console.is_terminal
    table = status_table(statuses)
    if not terminal:
        text = plain_table([COLUMNS, *(status_row(s) for s in statuses)])
        console.print(text, markup=False, highlight=False, soft_wrap=True)
    elif _natural_width(console, table) <= console.width:
        console.print(table)
    else:
        console.print(blocks(statuses), markup=False, highlight=False)
    wrap = not terminal  # a pipe gets each line whole; a terminal wraps at its width
    for s in statuses:
        if s.stale:
            console.print(f"[yellow]{escape(s.name)}:[/] {escape(s.stale)}", soft_wrap=wrap)
        if s.cost_note:
            console.print(f"{s.name}: cost {s.cost_note}", markup=False, soft_wrap=wrap)
        for line in [spend_line(s), *autoscaler_lines(s)]:
            console.print(f"{s.name}: {line}", markup=False, highlight=False, soft_wrap=wrap)
        if s.not_in_pool:
            console.print(
                f"[yellow]{escape(s.name)}: {len(s.not_in_pool)} running but not in the pool:[/] "
                + escape(summarise_ids(s.not_in_pool)),
                highlight=False,
                soft_wrap=wrap,
            )


def spend_line(s: AnnexStatus) -> str:
    """Spend so far and the burn rate, by the workers' prices (nominal for local shapes)."""
    budget = "" if s.budget_usd is None else f" of a ${s.budget_usd:.2f} budget"
    if s.spent_usd is None:
        return f"spent: no price known{budget}"
    return f"spent ${s.spent_usd:.4f}{budget}, burning ${s.burn_per_hour or 0:.4f}/h"


def autoscaler_lines(s: AnnexStatus) -> list[str]:
    """What the annex's controller last saw and decided, as its ClassAd shows it."""
    view = s.autoscaler
    if view is None:
        return []
    if view.get("ended"):
        return [f"controller done: {view['ended']}"]
    if not view.get("elastic"):
        return ["controller: keeps the budget"]
    if "updated_at" not in view:
        return ["controller: starting"]
    lines = [
        f"controller: {view['idle_jobs']} idle jobs in {view['idle_autoclusters']} autoclusters "
        f"({view['waiting_jobs']} held back by limits); {view['running_workers']} workers "
        f"running, {view['in_flight_workers']} starting, {view['draining_workers']} leaving; "
        f"{view['free_cpus']} CPUs free; {view['launched_workers']} launched in all"
    ]
    lines += [f"limit: {text}" for text in view.get("limits", [])]
    lines += [
        f"unmatchable: {u['autocluster']} ({jobs_text(u['jobs'])}): {u['why']}"
        for u in view.get("unmatchable", [])
    ]
    return lines
