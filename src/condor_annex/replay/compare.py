"""Replaying one trace under ours and the three baselines, with the same pool model."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from condor_annex.errors import UsageError
from condor_annex.planning import Policy, Resources, WorkerType
from condor_annex.replay.catalogue import Catalogue
from condor_annex.replay.controllers import (
    AnnexController,
    GcpToolkitController,
    OnePerJobController,
    StaticController,
)
from condor_annex.replay.engine import Outcome, simulate
from condor_annex.replay.pool import JOB_DISK_MB
from condor_annex.replay.swf import Trace

POLICIES = ("annex", "static", "gcp-toolkit", "one-per-job")
STATIC_SEARCH_LIMIT = 1 << 14


@dataclass(frozen=True)
class Settings:
    policy: Policy
    boot_s: float = 120.0
    interval_s: float = 60.0
    baseline_type: str | None = None  # the one type of static and gcp-toolkit


@dataclass
class Report:
    trace: Trace
    catalogue: Catalogue
    settings: Settings
    baseline_type: WorkerType
    outcomes: dict[str, Outcome]
    static_size: int
    static_runs: list[tuple[int, float]] = field(default_factory=list)  # (size, mean wait)

    def to_json(self) -> dict[str, Any]:
        policies: dict[str, Any] = {}
        for name in POLICIES:
            entry = self.outcomes[name].to_json()
            if name in ("static", "gcp-toolkit"):
                entry["worker_type"] = self.baseline_type.name
            if name == "static":
                entry["size"] = self.static_size
            policies[name] = entry
        s = self.settings
        # The top level is exactly trace, jobs, policies; what the figures rest on goes
        # inside the annex entry.
        policies["annex"]["model"] = {
            "boot_s": s.boot_s,
            "interval_s": s.interval_s,
            "idle_s": s.policy.timing.idle_s,
            "min_life_s": s.policy.timing.min_life_s,
            "catalogue": self.catalogue.source,
            "skipped_lines": dict(self.trace.skipped),
            "memory_default_mb_per_cpu": self.trace.memory_default_mb,
            "jobs_with_default_memory": self.trace.memory_defaulted,
        }
        return {"trace": self.trace.name, "jobs": len(self.trace.jobs), "policies": policies}


def _largest_shape(trace: Trace) -> Resources:
    job = max(trace.jobs, key=lambda j: (j.cpus, j.memory_mb))
    return Resources(job.cpus, job.memory_mb, JOB_DISK_MB, 0)


def baseline_type(types: Sequence[WorkerType], trace: Trace, name: str | None) -> WorkerType:
    """The one type of the single-type baselines: the one named, else the cheapest
    non-GPU type that fits the trace's largest job (so that they can run every job)."""
    if name is not None:
        for t in types:
            if t.name == name:
                return t
        raise UsageError(f"--baseline-type {name} is not in the catalogue")
    largest = _largest_shape(trace)
    fitting = [t for t in types if t.gpus == 0 and t.resources.how_many(largest) >= 1]
    if not fitting:
        fitting = [t for t in types if t.gpus == 0] or list(types)
        return max(fitting, key=lambda t: (t.cpus, t.memory_mb, -t.price_per_hour))
    return min(fitting, key=lambda t: (t.price_per_hour, t.cpus, t.name))


def smallest_static(
    run: Callable[[int], Outcome], target_wait_s: float
) -> tuple[int, Outcome, list[tuple[int, float]]]:
    """The smallest size whose mean wait is no worse than the target: doubling, then
    bisection (mean wait falls as the size grows)."""
    tried: list[tuple[int, float]] = []
    cache: dict[int, Outcome] = {}

    def outcome(size: int) -> Outcome:
        if size not in cache:
            cache[size] = run(size)
            tried.append((size, cache[size].mean_wait_s))
        return cache[size]

    high = 1
    while outcome(high).mean_wait_s > target_wait_s and high < STATIC_SEARCH_LIMIT:
        high *= 2
    low = high // 2  # known too slow (or 0)
    while high - low > 1:
        middle = (low + high) // 2
        if outcome(middle).mean_wait_s <= target_wait_s:
            high = middle
        else:
            low = middle
    return high, outcome(high), tried


def replay(trace: Trace, catalogue: Catalogue, settings: Settings) -> Report:
    policy = settings.policy
    allowed = [t for t in catalogue.types if policy.capacity.allows(t)]
    if not allowed:
        raise UsageError("the policy allows no type of the catalogue (check --instance-types)")
    one_type = baseline_type(allowed, trace, settings.baseline_type)

    def run(controller: Any) -> Outcome:
        return simulate(trace, controller, settings.boot_s, settings.interval_s)

    ours = run(AnnexController(allowed, policy))
    size, static, tried = smallest_static(
        lambda n: run(StaticController(one_type, n)), ours.mean_wait_s
    )
    outcomes = {
        "annex": ours,
        "static": static,
        "gcp-toolkit": run(GcpToolkitController(one_type, policy.caps.max_workers)),
        "one-per-job": run(
            OnePerJobController(allowed, policy.timing.idle_s, policy.caps.max_cpus)
        ),
    }
    return Report(trace, catalogue, settings, one_type, outcomes, size, tried)
