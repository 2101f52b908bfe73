"""`--plot`: demand, capacity and cost over time, with matplotlib (the optional extra
condor-annex[plot])."""

from __future__ import annotations

from pathlib import Path

from condor_annex.errors import UsageError
from condor_annex.replay.compare import POLICIES, Report
from condor_annex.replay.pool import Sample

HOUR = 3600.0


def _hourly(
    samples: list[Sample], end: float
) -> tuple[list[float], list[int], list[int], list[float]]:
    """The last sample of each hour: enough for a year-long trace to stay readable."""
    hours = int(end // HOUR) + 1
    demand, capacity, spent = [0] * hours, [0] * hours, [0.0] * hours
    for sample in samples:
        h = int(sample.time // HOUR)
        demand[h] = max(demand[h], sample.demand_cpus)
        capacity[h] = max(capacity[h], sample.capacity_cpus)
        spent[h] = sample.spent_usd
    for h in range(1, hours):
        spent[h] = max(spent[h], spent[h - 1])
    return [h / 24 for h in range(hours)], demand, capacity, spent


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
    days, demand, capacity, _ = _hourly(report.outcomes["annex"].timeline, end)
    top.fill_between(days, demand, step="post", alpha=0.35, label="demand (idle + running CPUs)")
    top.step(days, capacity, where="post", linewidth=0.8, label="annex capacity (CPUs paid)")
    _, _, gcp, _ = _hourly(report.outcomes["gcp-toolkit"].timeline, end)
    top.step(days, gcp, where="post", linewidth=0.6, alpha=0.7, label="gcp-toolkit capacity")
    top.set_ylabel("CPUs (hourly peak)")
    top.legend(loc="upper right", fontsize=8)
    for name in POLICIES:
        outcome = report.outcomes[name]
        x, _, _, spent = _hourly(outcome.timeline, end)
        bottom.plot(x, spent, label=f"{name} (${outcome.cost_usd:,.0f})")
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
