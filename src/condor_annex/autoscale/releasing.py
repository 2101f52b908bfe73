"""Ending workers the plan no longer needs, without ever killing a running job.

A release is advice. Just before acting, the worker's slot is read again; only one still
unclaimed is released, and then gracefully: HTCondor's peaceful shutdown of its daemons
(`condor_off -peaceful`), so a job matched in the moment between the check and the
command still runs to its end and no new job starts. Once its startd has left the pool,
the provider ends the worker (its machine, its process). The budget's drain uses the same
path for every worker, claimed or not: their running jobs finish (the lease still bounds
them), and nothing new starts.
"""

from __future__ import annotations

import contextlib
import subprocess
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import classad2

from condor_annex import observe, poolquery
from condor_annex.autoscale.state import ControllerState
from condor_annex.interfaces import Provider
from condor_annex.lifecycle import GoneReason
from condor_annex.settle import mark_ended
from condor_annex.store import Store
from condor_annex.waiting import wait_for

Log = Callable[[str], None]
Tool = Callable[[list[str]], list[str]]  # argv of one of HTCondor's tools against the pool


def peaceful_off(tool: Tool, ids: Sequence[str]) -> str:
    """Send the workers' daemons HTCondor's peaceful shutdown; '' or what went wrong."""
    if not ids:
        return ""
    constraint = " || ".join(f"AnnexInstanceID =?= {classad2.quote(i)}" for i in ids)
    argv = tool(["condor_off", "-peaceful", "-constraint", constraint])
    proc = subprocess.run(argv, capture_output=True, text=True, check=False, cwd=Path("/"))
    return "" if proc.returncode == 0 else (proc.stderr or proc.stdout).strip()[:200]


class Releaser:
    def __init__(
        self, store: Store, name: str, provider: Provider, collector: str, tool: Tool, log: Log
    ) -> None:
        self.store = store
        self.name = name
        self.provider = provider
        self.collector = collector
        self.tool = tool
        self.log = log

    def _mark(self, ids: Sequence[str]) -> None:
        now = time.time()
        with self.store.editing(self.name) as record:
            state = ControllerState.of(record)
            assert state is not None
            for worker_id in ids:
                state.releasing.setdefault(worker_id, now)
            state.save(record)

    def release(self, ids: Sequence[str], why: str) -> list[str]:
        """Release those of `ids` whose slot is still unclaimed now; returns them."""
        if not ids:
            return []
        fresh = observe.execute_points(self.collector, self.name)
        chosen = [i for i in ids if i in fresh and not fresh[i].claimed]
        for skipped in sorted(set(ids) - set(chosen)):
            self.log(f"keep {skipped}: claimed again since the plan, or not in the pool")
        self.drain(chosen, why)
        return chosen

    def drain(self, ids: Sequence[str], why: str) -> None:
        """Peaceful shutdown of these workers (claimed or not), recorded first."""
        if not ids:
            return
        self._mark(ids)  # before the command: a restarted controller knows they are going
        problem = peaceful_off(self.tool, ids)
        said = f": {problem}" if problem else ""
        self.log(f"peaceful shutdown of {', '.join(ids)} ({why}){said}")

    def end_now(self, ids: Sequence[str], reason: GoneReason) -> None:
        """Workers not in the pool (failed to join, or never joined): nothing runs there."""
        if not ids:
            return
        self.provider.terminate_instances(self.store.load_annex(self.name), list(ids))
        with self.store.editing(self.name) as record:
            state = ControllerState.of(record)
            assert state is not None
            mark_ended(record, ids, reason)
            state.releasing.update({i: time.time() for i in ids})
            state.save(record)

    def finish(self, wait: float) -> list[str]:
        """End the released workers whose startd has left the pool (waiting up to `wait`
        seconds for them); the others stay released (a job is finishing there)."""
        record = self.store.load_annex(self.name)
        state = ControllerState.of(record)
        assert state is not None
        live = {w.id for w in record.live_workers}
        going = [i for i in state.releasing if i in live]
        if not going:
            return []

        def left() -> list[str]:
            present = {s.instance_id for s in poolquery.annex_slots(self.collector, self.name)}
            return [i for i in going if i not in present]

        with contextlib.suppress(TimeoutError):
            wait_for(lambda: len(left()) == len(going), wait, "released workers to leave", 0.5)
        gone = left()
        if gone:
            self.end_now(gone, GoneReason.EXITED)
        return gone
