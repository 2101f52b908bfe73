"""`--plot`: demand, capacity and cost over time, with matplotlib (the optional extra
condor-annex[plot])."""

from __future__ import annotations

import bisect
from pathlib import Path

from condor_annex.errors import UsageError
from condor_annex.replay.compare import POLICIES, Report
from condor_annex.replay.pool import Sample

DAY = 86_400.0
COLOURS = {"annex": "C0", "static": "C1", "gcp-toolkit": "C2", "one-per-job": "C3"}


def _daily(
    samples: list[Sample], end: float
) -> tuple[list[float], list[float], list[float], list[float]]:
    """Per day: the time-weighted mean demand and capacity (each sample holds until the
    next), and the cost so far at the day's end, interpolated between samples (the cost of
    a quiet stretch with workers up grows steadily, though nothing was sampled there)."""
    days = int(end // DAY) + 1
    demand, capacity = [0.0] * days, [0.0] * days
    for here, after in zip(samples, [*samples[1:], None], strict=True):
        stop = end if after is None else after.time
        t = here.time
        while t < stop:
            day = int(t // DAY)
            upto = min(stop, (day + 1) * DAY)
            demand[day] += here.demand_cpus * (upto - t) / DAY
            capacity[day] += here.capacity_cpus * (upto - t) / DAY
            t = upto
    times = [x.time for x in samples]
    spent = [_interpolate(times, samples, (d + 1) * DAY) for d in range(days)]
    return [d + 1.0 for d in range(days)], demand, capacity, spent


def _interpolate(times: list[float], samples: list[Sample], at: float) -> float:
    i = bisect.bisect_right(times, at)
    if i == 0:
        return 0.0
    if i == len(samples):
        return samples[-1].spent_usd
    before, after = samples[i - 1], samples[i]
    share = (at - before.time) / (after.time - before.time) if after.time > before.time else 0
    return before.spent_usd + share * (after.spent_usd - before.spent_usd)


def pyplot():  # type: ignore[no-untyped-def]
    """matplotlib's pyplot drawing to files, or a UsageError naming the extra to install."""
    try:
        import matplotlib

        matplotlib.use("Agg")  # files only, no display
        import matplotlib.pyplot as plt
    except ImportError:
        raise UsageError("--plot needs matplotlib: pip install 'condor-annex[plot]'") from None
    return plt


def write_plot(report: Report, path: Path) -> None:
    plt = pyplot()
    end = max(o.end_s for o in report.outcomes.values())
    figure, (top, bottom) = plt.subplots(2, 1, figsize=(12, 7), sharex=True)
    days, demand, capacity, _ = _daily(report.outcomes["annex"].timeline, end)
    top.fill_between(
        days, demand, step="pre", alpha=0.25, color="grey", label="demand (idle + running CPUs)"
    )
    top.step(
        days,
        capacity,
        where="pre",
        linewidth=1.2,
        color=COLOURS["annex"],
        label="annex capacity (CPUs paid)",
    )
    for name in ("gcp-toolkit", "static"):
        _, _, other, _ = _daily(report.outcomes[name].timeline, end)
        top.step(
            days,
            other,
            where="pre",
            linewidth=0.8,
            alpha=0.8,
            color=COLOURS[name],
            label=f"{name} capacity",
        )
    top.set_ylabel("CPUs (daily mean)")
    top.legend(loc="upper right", fontsize=8)
    for name in POLICIES:
        outcome = report.outcomes[name]
        x, _, _, spent = _daily(outcome.timeline, end)
        bottom.plot(
            x,
            spent,
            color=COLOURS[name],
            linestyle="--" if name == "one-per-job" else "-",
            label=f"{name} (${outcome.cost_usd:,.0f})",
        )
    bottom.set_ylabel("cost so far (USD)")
    bottom.set_xlabel("days since the trace's first job")
    bottom.legend(loc="upper left", fontsize=8)
    top.set_title(f"annex replay of {report.trace.name}: {len(report.trace.jobs)} jobs")
    figure.tight_layout()
    try:
        figure.savefig(path, dpi=110)
    except OSError as err:
        raise UsageError(f"cannot write {path}: {err.strerror}") from None
    finally:
        plt.close(figure)
