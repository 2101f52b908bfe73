"""The simulated pool: a queue of trace jobs, workers that boot, run jobs and are billed.

The negotiator is modelled as instantaneous: whenever something changes, idle jobs (oldest
first, grouped by shape as autoclusters are) start on joined workers with room, fullest
worker first. It matches by resources; trace jobs carry no other requirements. Billing is
per second from launch to end, with a 60 s minimum.
"""

from __future__ import annotations

import heapq
from collections import deque
from dataclasses import dataclass, field

from condor_annex.planning import Resources, WorkerType
from condor_annex.replay.swf import Trace

MIN_BILLED_S = 60.0
JOB_DISK_MB = 1024  # SWF has no disk request; every job asks for 1 GiB
_FINISH, _READY = 0, 1


@dataclass(eq=False)
class SimWorker:
    id: int
    type: WorkerType
    launched_at: float
    ready_at: float
    free: Resources
    joined: bool = False
    running: int = 0
    unclaimed_since: float | None = None
    draining: bool = False
    tag: int | None = None  # a baseline's own mark (one-per-job: the shape it was for)


def billed_seconds(launched_at: float, ended_at: float) -> float:
    return max(MIN_BILLED_S, ended_at - launched_at)


@dataclass
class Sample:
    time: float
    demand_cpus: int  # idle + running jobs' CPUs
    capacity_cpus: int  # CPUs of every worker alive (booting included): what is paid for
    spent_usd: float


@dataclass
class Pool:
    trace: Trace
    boot_s: float
    shapes: list[Resources] = field(init=False)
    shape_of: list[int] = field(init=False)
    start: list[float | None] = field(init=False)
    idle: dict[int, deque[int]] = field(init=False)
    workers: dict[int, SimWorker] = field(init=False, default_factory=dict)
    timeline: list[Sample] = field(init=False, default_factory=list)

    def __post_init__(self) -> None:
        index: dict[Resources, int] = {}
        self.shape_of = []
        for job in self.trace.jobs:
            shape = Resources(job.cpus, job.memory_mb, JOB_DISK_MB, 0)
            self.shape_of.append(index.setdefault(shape, len(index)))
        self.shapes = list(index)
        self.start = [None] * len(self.trace.jobs)
        self.idle = {s: deque() for s in range(len(self.shapes))}
        self._events: list[tuple[float, int, int, int, int]] = []
        self._seq = 0
        self._next_arrival = 0
        self._next_id = 0
        self.running_jobs = 0
        self.idle_cpus = self.running_cpus = self.alive_cpus = 0
        self.launched = 0
        self.peak_workers = 0
        self.ended_cost = 0.0
        self.paid_core_s = 0.0
        self.changed = False  # something happened since the last controller tick
        self.now = 0.0  # the time of the last event

    # -- time ---------------------------------------------------------------------------
    def next_event_time(self) -> float:
        times = [self._events[0][0]] if self._events else []
        if self._next_arrival < len(self.trace.jobs):
            times.append(self.trace.jobs[self._next_arrival].submit)
        return min(times, default=float("inf"))

    def advance(self, now: float) -> None:
        """Everything that happens at `now`, then one negotiation."""
        self.now = now
        jobs = self.trace.jobs
        while self._next_arrival < len(jobs) and jobs[self._next_arrival].submit <= now:
            i = self._next_arrival
            self._next_arrival += 1
            self.idle[self.shape_of[i]].append(i)
            self.idle_cpus += jobs[i].cpus
        while self._events and self._events[0][0] <= now:
            _, _, kind, a, b = heapq.heappop(self._events)
            if kind == _FINISH:
                self._finish(a, b, now)
            else:
                self._join(a, now)
        self.changed = True
        self.negotiate(now)
        self.sample(now)

    def _push(self, when: float, kind: int, a: int, b: int) -> None:
        self._seq += 1
        heapq.heappush(self._events, (when, self._seq, kind, a, b))

    # -- workers ------------------------------------------------------------------------
    def launch(self, worker_type: WorkerType, now: float, tag: int | None = None) -> SimWorker:
        worker = SimWorker(
            self._next_id, worker_type, now, now + self.boot_s, worker_type.resources, tag=tag
        )
        self._next_id += 1
        self.workers[worker.id] = worker
        self.launched += 1
        self.alive_cpus += worker_type.cpus
        self.peak_workers = max(self.peak_workers, len(self.workers))
        self._push(worker.ready_at, _READY, worker.id, 0)
        self.changed = True
        return worker

    def end(self, worker: SimWorker, now: float) -> None:
        """End a worker; the caller has checked that it runs no job."""
        assert worker.running == 0, "a running job is never killed"
        del self.workers[worker.id]
        seconds = billed_seconds(worker.launched_at, now)
        self.ended_cost += worker.type.price_per_hour * seconds / 3600
        self.paid_core_s += worker.type.cpus * seconds
        self.alive_cpus -= worker.type.cpus
        self.changed = True

    def _join(self, worker_id: int, now: float) -> None:
        worker = self.workers.get(worker_id)
        if worker is not None:  # not ended while it booted
            worker.joined = True
            worker.unclaimed_since = now

    def _finish(self, job: int, worker_id: int, now: float) -> None:
        worker = self.workers[worker_id]
        shape = self.shapes[self.shape_of[job]]
        worker.free = worker.free.minus(shape, -1)
        worker.running -= 1
        self.running_jobs -= 1
        self.running_cpus -= shape.cpus
        if worker.running == 0:
            worker.unclaimed_since = now
            if worker.draining:
                self.end(worker, now)

    def spent(self, now: float) -> float:
        alive = sum(
            w.type.price_per_hour * billed_seconds(w.launched_at, now)
            for w in self.workers.values()
        )
        return self.ended_cost + alive / 3600

    # -- the negotiator -----------------------------------------------------------------
    def negotiate(self, now: float) -> None:
        waiting = [s for s, queue in self.idle.items() if queue]
        if not waiting:
            return
        room = [w for w in self.workers.values() if w.joined and not w.draining]
        if not room:
            return
        room.sort(key=lambda w: (w.free.cpus, w.free.memory_mb, w.id))
        starts = self.trace.jobs
        waiting.sort(key=lambda s: starts[self.idle[s][0]].submit)
        for s in waiting:
            queue, shape = self.idle[s], self.shapes[s]
            for worker in room:
                fits = worker.free.how_many(shape)
                if fits < 1:
                    continue
                for _ in range(min(fits, len(queue))):
                    self._start(queue.popleft(), worker, shape, now)
                if not queue:
                    break

    def _start(self, job: int, worker: SimWorker, shape: Resources, now: float) -> None:
        self.start[job] = now
        worker.free = worker.free.minus(shape)
        worker.running += 1
        worker.unclaimed_since = None
        self.running_jobs += 1
        self.idle_cpus -= shape.cpus
        self.running_cpus += shape.cpus
        self._push(now + self.trace.jobs[job].runtime, _FINISH, job, worker.id)

    def sample(self, now: float) -> None:
        self.timeline.append(
            Sample(now, self.idle_cpus + self.running_cpus, self.alive_cpus, self.spent(now))
        )
