"""AnnexRequest validation, WorkerRecord.move_to, and AnnexRecord's JSON round trip."""

from __future__ import annotations

import copy
import dataclasses
import json
import time
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from condor_annex.errors import UsageError
from condor_annex.lifecycle import GoneReason, IllegalTransition, WorkerState
from condor_annex.model import AnnexRecord, AnnexRequest, WorkerRecord


def _request(**overrides: Any) -> AnnexRequest:
    fields: dict[str, Any] = {
        "name": "demo",
        "count": 2,
        "lease_seconds": 3600,
        "idle_seconds": 600,
    }
    fields.update(overrides)
    return AnnexRequest(**fields)


def _refused(**overrides: Any) -> str:
    with pytest.raises(UsageError) as info:
        _request(**overrides)
    message = str(info.value)
    assert "\n" not in message
    return message


# -- AnnexRequest ------------------------------------------------------------------------


def test_valid_request_builds_with_defaults() -> None:
    request = _request()
    assert (request.name, request.count, request.lease_seconds, request.idle_seconds) == (
        "demo",
        2,
        3600,
        600,
    )
    assert (request.cpus, request.memory_mb, request.max_count) == (1, 1024, 50)


def test_request_is_frozen() -> None:
    request = _request()
    with pytest.raises(dataclasses.FrozenInstanceError):
        request.count = 99  # type: ignore[misc]


@pytest.mark.parametrize("count", [0, -1])
def test_count_below_one_is_refused(count: int) -> None:
    message = _refused(count=count)
    assert f"count {count} is below 1" in message
    assert "at least one worker" in message


def test_count_above_max_is_refused() -> None:
    message = _refused(count=51)
    assert "count 51 is above the maximum of 50" in message
    assert "ANNEX_DEFAULT_MAX_COUNT" in message


def test_count_above_custom_max_is_refused() -> None:
    message = _refused(count=4, max_count=3)
    assert "above the maximum of 3" in message


@pytest.mark.parametrize(("count", "max_count"), [(1, 1), (50, 50), (3, 3), (1, 50)])
def test_count_up_to_max_is_accepted(count: int, max_count: int) -> None:
    assert _request(count=count, max_count=max_count).count == count


def test_idle_longer_than_lease_is_refused() -> None:
    message = _refused(lease_seconds=600, idle_seconds=601)
    assert "idle time (601s) is longer than the lease (600s)" in message
    assert "--idle" in message
    assert "--duration" in message


def test_idle_equal_to_lease_is_accepted() -> None:
    assert _request(lease_seconds=600, idle_seconds=600).idle_seconds == 600


@pytest.mark.parametrize("name", ["", "my_annex", "a.b", "-x", "x-", "a" * 64])
def test_bad_name_is_refused(name: str) -> None:
    message = _refused(name=name)
    assert "annex name" in message


def test_cpus_below_one_is_refused() -> None:
    assert "cpus 0 is below 1" in _refused(cpus=0)


def test_memory_below_64m_is_refused() -> None:
    assert "memory 63M is below 64M" in _refused(memory_mb=63)
    assert _request(memory_mb=64).memory_mb == 64


@settings(max_examples=100)
@given(
    count=st.integers(min_value=1, max_value=50),
    lease=st.integers(min_value=1, max_value=10**7),
    data=st.data(),
)
def test_any_in_range_request_builds(count: int, lease: int, data: st.DataObject) -> None:
    idle = data.draw(st.integers(min_value=1, max_value=lease))
    request = _request(count=count, lease_seconds=lease, idle_seconds=idle)
    assert (request.count, request.lease_seconds, request.idle_seconds) == (count, lease, idle)


@pytest.mark.parametrize(("lease", "idle"), [(0, 0), (-10, -20)])
def test_non_positive_lease_is_refused(lease: int, idle: int) -> None:
    _refused(lease_seconds=lease, idle_seconds=idle)


# -- WorkerRecord ------------------------------------------------------------------------


def test_worker_starts_requested_and_alive() -> None:
    worker = WorkerRecord(id="w1", address="127.0.0.1")
    assert worker.state is WorkerState.REQUESTED
    assert worker.alive
    assert worker.ended_at is None
    assert worker.gone_reason is None


def test_move_to_follows_the_life_cycle() -> None:
    worker = WorkerRecord(id="w1", address="a")
    worker.move_to(WorkerState.BOOTING)
    assert worker.state is WorkerState.BOOTING
    worker.move_to(WorkerState.RUNNING)
    assert worker.state is WorkerState.RUNNING
    assert worker.alive
    assert worker.ended_at is None


def test_move_to_gone_sets_end_time_and_reason() -> None:
    worker = WorkerRecord(id="w1", address="a", state=WorkerState.RUNNING)
    before = time.time()
    worker.move_to(WorkerState.GONE, GoneReason.LEASE)
    after = time.time()
    assert worker.state is WorkerState.GONE
    assert not worker.alive
    assert worker.gone_reason is GoneReason.LEASE
    assert worker.ended_at is not None
    assert before <= worker.ended_at <= after


def test_second_move_to_gone_keeps_the_first_reason_and_time() -> None:
    worker = WorkerRecord(id="w1", address="a")
    worker.move_to(WorkerState.GONE, GoneReason.FAILED)
    ended = worker.ended_at
    worker.move_to(WorkerState.GONE, GoneReason.OFF)
    assert worker.gone_reason is GoneReason.FAILED
    assert worker.ended_at == ended


def test_illegal_move_raises_and_keeps_state() -> None:
    worker = WorkerRecord(id="w1", address="a")
    with pytest.raises(IllegalTransition):
        worker.move_to(WorkerState.RUNNING)
    assert worker.state is WorkerState.REQUESTED
    worker.move_to(WorkerState.GONE, GoneReason.OFF)
    with pytest.raises(IllegalTransition):
        worker.move_to(WorkerState.BOOTING)
    assert worker.state is WorkerState.GONE


# -- AnnexRecord -------------------------------------------------------------------------


def _record_with_workers() -> AnnexRecord:
    request = _request(count=3, cpus=2, memory_mb=2048)
    record = AnnexRecord.from_request(request, provider="local")
    gone = WorkerRecord(id="w1", address="127.0.0.1:9001", data={"pid": 101, "pid_started": 1.5})
    gone.move_to(WorkerState.BOOTING)
    gone.move_to(WorkerState.RUNNING)
    gone.started_at = 1234.25
    gone.move_to(WorkerState.GONE, GoneReason.EXITED)
    running = WorkerRecord(id="w2", address="127.0.0.1:9002", data={"pid": 102})
    running.move_to(WorkerState.BOOTING)
    running.move_to(WorkerState.RUNNING)
    requested = WorkerRecord(id="w3", address="127.0.0.1:9003")
    record.workers = [gone, running, requested]
    return record


def test_from_request_copies_the_request() -> None:
    request = _request(
        name="big", count=5, lease_seconds=7200, idle_seconds=300, cpus=4, memory_mb=4096
    )
    before = time.time()
    record = AnnexRecord.from_request(request, provider="local")
    after = time.time()
    assert record.name == "big"
    assert record.provider == "local"
    assert record.requested == 5
    assert record.idle_seconds == 300
    assert (record.cpus, record.memory_mb) == (4, 4096)
    assert before <= record.created_at <= after
    assert record.lease_end == record.created_at + 7200
    assert record.workers == []
    assert record.off_requested is False


def test_live_workers_excludes_gone() -> None:
    record = _record_with_workers()
    assert [w.id for w in record.live_workers] == ["w2", "w3"]


def test_json_round_trip_through_text() -> None:
    record = _record_with_workers()
    record.off_requested = True
    text = json.dumps(record.to_json())
    data = json.loads(text)
    assert data["workers"][0]["state"] == "gone"
    assert data["workers"][0]["gone_reason"] == "exited"
    assert data["workers"][1]["gone_reason"] is None

    restored = AnnexRecord.from_json(data)
    assert restored == record
    assert restored.workers[0].state is WorkerState.GONE
    assert restored.workers[0].gone_reason is GoneReason.EXITED
    assert restored.workers[0].ended_at == record.workers[0].ended_at
    assert restored.workers[1].state is WorkerState.RUNNING
    assert restored.workers[2].state is WorkerState.REQUESTED
    assert [w.id for w in restored.live_workers] == ["w2", "w3"]


def test_json_round_trip_without_workers() -> None:
    record = AnnexRecord.from_request(_request(), provider="local")
    assert AnnexRecord.from_json(json.loads(json.dumps(record.to_json()))) == record


def test_from_json_without_workers_key() -> None:
    data = json.loads(json.dumps(AnnexRecord.from_request(_request(), "local").to_json()))
    del data["workers"]
    assert AnnexRecord.from_json(data).workers == []


def test_restored_worker_keeps_its_life_cycle() -> None:
    record = _record_with_workers()
    restored = AnnexRecord.from_json(json.loads(json.dumps(record.to_json())))
    running = restored.workers[1]
    running.move_to(WorkerState.GONE, GoneReason.OFF)
    assert running.gone_reason is GoneReason.OFF
    assert running.ended_at is not None
    with pytest.raises(IllegalTransition):
        restored.workers[0].move_to(WorkerState.RUNNING)


@settings(max_examples=50)
@given(
    states=st.lists(
        st.tuples(
            st.sampled_from(
                [WorkerState.REQUESTED, WorkerState.BOOTING, WorkerState.RUNNING, WorkerState.GONE]
            ),
            st.sampled_from(list(GoneReason)),
        ),
        max_size=6,
    )
)
def test_json_round_trip_any_workers(states: list[tuple[WorkerState, GoneReason]]) -> None:
    record = AnnexRecord.from_request(_request(), provider="local")
    path = [WorkerState.REQUESTED, WorkerState.BOOTING, WorkerState.RUNNING]
    for i, (target, reason) in enumerate(states):
        worker = WorkerRecord(id=f"w{i}", address=f"h:{i}")
        if target is WorkerState.GONE:
            worker.move_to(WorkerState.GONE, reason)
        else:
            for step in path[1 : path.index(target) + 1]:
                worker.move_to(step)
        record.workers.append(worker)
    assert AnnexRecord.from_json(json.loads(json.dumps(record.to_json()))) == record


def test_from_json_leaves_its_argument_alone() -> None:
    data = json.loads(json.dumps(_record_with_workers().to_json()))
    original = copy.deepcopy(data)
    AnnexRecord.from_json(data)
    assert data == original


def test_records_of_0_1_load_with_location_and_worker_data() -> None:
    """Records written before locations and provider data still load (state homes live on
    across upgrades): `region` becomes the location, a local worker's pid its data."""
    data = json.loads(json.dumps(_record_with_workers().to_json()))
    data["region"] = data.pop("location")
    del data["provider_data"]
    for worker in data["workers"]:
        worker.update(worker.pop("data"))
        worker.setdefault("pid", None)
        del worker["detail"]
    data["region"] = "us-east-2"
    restored = AnnexRecord.from_json(data)
    assert restored.location == "us-east-2"
    assert restored.workers[0].data == {"pid": 101, "pid_started": 1.5}
    assert restored.workers[2].data == {}
