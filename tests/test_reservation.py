"""A new elastic worker holds its room for the jobs it was launched for: its START, as
HTCondor evaluates it (classad2), refuses smaller jobs until the reservation has passed."""

from __future__ import annotations

import time

import classad2
import htcondor2  # noqa: F401 - registers stringListMember with classad2

from condor_annex.autoscale.launching import reservation
from condor_annex.planning import Launch, Resources, WorkerType
from condor_annex.workerconfig import WorkerBundle, worker_start

BIG = WorkerType("2x1536M", 2, 1536, price_per_hour=0.03)


def _bundle(reserve: str, owners: tuple[str, ...] = ()) -> WorkerBundle:
    return WorkerBundle(
        "el", "127.0.0.1:9618", "d", "a.d", 0.0, 60, 0, 0, "t", owners,
        partitionable=True, reserve=reserve, reserve_seconds=60,
    )  # fmt: skip


def _eval(machine: classad2.ClassAd, job: dict[str, object]) -> bool:
    target = classad2.ClassAd(job)
    machine["Requirements"] = classad2.ExprTree("START")
    target["Requirements"] = classad2.ExprTree("true")
    return machine.symmetricMatch(target)


def test_a_new_worker_starts_only_the_jobs_it_was_launched_for_at_first() -> None:
    launch = Launch(BIG, 1, (BIG,), (("s/alice/2cpu-1536MB-x", 1),))
    reserve = reservation(launch, {"s/alice/2cpu-1536MB-x": Resources(2, 1536, 1, 0)})
    assert reserve == "TARGET.RequestCpus >= 2 && TARGET.RequestMemory >= 1536"
    start = worker_start(_bundle(reserve, owners=("alice",)))
    large = {"Owner": "alice", "RequestCpus": 2, "RequestMemory": 1536}
    small = {"Owner": "alice", "RequestCpus": 1, "RequestMemory": 512}
    stranger = {"Owner": "bob", "RequestCpus": 2, "RequestMemory": 1536}
    assert _eval_start(start, large, 5) and not _eval_start(start, small, 5)
    assert _eval_start(start, small, 61)  # the reservation is over: its room is anyone's
    assert not _eval_start(start, stranger, 61)  # the annex's owners hold throughout
    assert worker_start(_bundle("")) == "True"  # no reservation: plain annexes as before
    assert reservation(launch, {}) == ""


def _eval_start(start: str, job: dict[str, object], started_ago: float) -> bool:
    machine = classad2.ClassAd({"DaemonStartTime": int(time.time() - started_ago)})
    machine["START"] = classad2.ExprTree(start)
    return _eval(machine, job)
