"""`annex replay TRACE`: replay a workload trace under the planner and three baselines."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import click

from condor_annex.cli.params import DURATION, TYPE_LIST

Say = Callable[[str], None]


def register(cli: click.Group, say: Say) -> None:
    @cli.command()
    @click.argument("trace", type=click.Path(path_type=Path))
    @click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON.")
    @click.option(
        "--plot", type=click.Path(path_type=Path), help="Draw demand, capacity and cost (PNG)."
    )
    @click.option(
        "--boot",
        type=DURATION,
        default="120s",
        show_default=True,
        help="Time from launch until a worker has joined the pool.",
    )
    @click.option(
        "--interval",
        type=DURATION,
        default="60s",
        show_default=True,
        help="The controller's loop interval.",
    )
    @click.option(
        "--idle",
        type=DURATION,
        default="60s",
        show_default=True,
        help="A worker unclaimed this long may go.",
    )
    @click.option(
        "--min-life",
        type=DURATION,
        default="60s",
        show_default=True,
        help="A worker younger than this stays (60s is the billing minimum).",
    )
    @click.option("--max-workers", type=click.IntRange(1), help="Cap on workers.")
    @click.option("--max-cpus", type=click.IntRange(1), help="Cap on CPUs.")
    @click.option("--max-gpus", type=click.IntRange(0), help="Cap on GPUs.")
    @click.option(
        "--max-cost-per-hour",
        type=click.FloatRange(min=0, min_open=True),
        help="Cap on the burn rate, USD per hour.",
    )
    @click.option(
        "--budget",
        type=click.FloatRange(min=0, min_open=True),
        help="Total budget, USD; the annex drains and ends when it is spent.",
    )
    @click.option("--instance-types", type=TYPE_LIST, help="Only these catalogue types (a,b,c).")
    @click.option(
        "--catalogue",
        type=click.Path(path_type=Path),
        help="Worker types and prices (JSON, the form of the default).",
    )
    @click.option(
        "--memory-per-cpu",
        type=click.IntRange(1),
        default=1024,
        show_default=True,
        help="MB per processor for jobs whose memory the trace does not give.",
    )
    @click.option(
        "--baseline-type",
        help="The one type of static and gcp-toolkit [default: the cheapest that "
        "fits the largest job].",
    )
    def replay(
        trace: Path,
        as_json: bool,
        plot: Path | None,
        boot: int,
        interval: int,
        idle: int,
        min_life: int,
        max_workers: int | None,
        max_cpus: int | None,
        max_gpus: int | None,
        max_cost_per_hour: float | None,
        budget: float | None,
        instance_types: tuple[str, ...] | None,
        catalogue: Path | None,
        memory_per_cpu: int,
        baseline_type: str | None,
    ) -> None:
        """Replay a Standard Workload Format TRACE (plain or gzip) under the planner (annex)
        and three baselines: static, gcp-toolkit and one-per-job."""
        from condor_annex.planning import Capacity, Caps, Policy, Timing
        from condor_annex.replay.catalogue import load_catalogue
        from condor_annex.replay.compare import Settings
        from condor_annex.replay.compare import replay as run_replay
        from condor_annex.replay.plot import pyplot, write_plot
        from condor_annex.replay.report import lines
        from condor_annex.replay.swf import read_swf

        if plot is not None:
            pyplot()  # a missing extra fails now, not after the replay
        types = load_catalogue(catalogue)
        policy = Policy(
            caps=Caps(max_workers, max_cpus, max_gpus, max_cost_per_hour, budget),
            timing=Timing(idle_s=idle, min_life_s=min_life, interval_s=interval),
            capacity=Capacity(frozenset(instance_types) if instance_types else None),
            annex_name="replay",
        )
        settings = Settings(policy, boot_s=boot, interval_s=interval, baseline_type=baseline_type)
        report = run_replay(read_swf(trace, memory_per_cpu), types, settings)
        if plot is not None:
            write_plot(report, plot)
        if as_json:
            say(json.dumps(report.to_json(), indent=2))
        else:
            for line in lines(report):
                say(line)
            if plot is not None:
                say(f"plot: {plot}")
