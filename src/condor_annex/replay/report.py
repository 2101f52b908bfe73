"""The replay's text report: one row per policy, then what the figures rest on."""

from __future__ import annotations

from condor_annex.durations import format_duration
from condor_annex.replay.compare import POLICIES, Report

_HEADER = (
    f"{'policy':<12} {'paid core-h':>12} {'used core-h':>12} {'paid/used':>9} {'cost USD':>10} "
    f"{'mean wait':>10} {'p95 wait':>9} {'unmatched':>9} {'workers':>8}"
)


def lines(report: Report) -> list[str]:
    out = [
        f"trace {report.trace.name}: {len(report.trace.jobs)} jobs",
        _HEADER,
    ]
    for name in POLICIES:
        o = report.outcomes[name]
        out.append(
            f"{name:<12} {o.paid_core_hours:>12.1f} {o.used_core_hours:>12.1f} "
            f"{o.paid_per_used:>9.3f} {o.cost_usd:>10.2f} {o.mean_wait_s:>9.1f}s "
            f"{o.p95_wait_s:>8.1f}s {o.unmatched_jobs:>9} {o.workers_launched:>8}"
        )
    s, trace = report.settings, report.trace
    timing = s.policy.timing
    skipped = ", ".join(f"{n} {why}" for why, n in trace.skipped.items()) or "none"
    out += [
        "",
        f"static: {report.static_size} x {report.baseline_type.name}, the smallest size whose "
        f"mean wait is no worse than annex's (sizes tried: "
        + ", ".join(f"{n}: {w:.0f}s" for n, w in sorted(report.static_runs))
        + ")",
        f"gcp-toolkit: one type, {report.baseline_type.name}; one-per-job: the cheapest type "
        "that fits each job",
        f"model: boot {format_duration(s.boot_s)}, loop every {format_duration(s.interval_s)}, "
        f"idle {format_duration(timing.idle_s)}, minimum life "
        f"{format_duration(timing.min_life_s)}, per-second billing with a 60s minimum, "
        "an instantaneous negotiator that fills the fullest worker first",
        f"lines skipped: {skipped}; memory: {trace.memory_defaulted} jobs without one in the "
        f"trace were given {trace.memory_default_mb} MB per CPU",
        f"catalogue: {report.catalogue.source}",
    ]
    return out
