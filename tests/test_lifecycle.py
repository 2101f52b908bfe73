"""The worker life cycle: REQUESTED -> BOOTING -> RUNNING -> GONE, GONE from anywhere."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from condor_annex.lifecycle import GoneReason, IllegalTransition, WorkerState, transition

R, B, U, G = WorkerState.REQUESTED, WorkerState.BOOTING, WorkerState.RUNNING, WorkerState.GONE
ORDER = [R, B, U, G]

LEGAL = {(R, B), (R, G), (B, U), (B, G), (U, G)}
SAME = {(s, s) for s in WorkerState}
ILLEGAL = set(itertools.product(WorkerState, WorkerState)) - LEGAL - SAME


def test_state_values() -> None:
    assert [s.value for s in WorkerState] == ["requested", "booting", "running", "gone"]
    assert WorkerState("running") is WorkerState.RUNNING
    assert str(WorkerState.GONE) == "gone"


def test_gone_reason_values() -> None:
    assert {r.value for r in GoneReason} == {"exited", "lease", "off", "failed"}


def test_illegal_transition_is_a_value_error() -> None:
    assert issubclass(IllegalTransition, ValueError)


@pytest.mark.parametrize(("current", "new"), sorted(LEGAL))
def test_legal_steps_return_the_new_state(current: WorkerState, new: WorkerState) -> None:
    assert transition(current, new) is new


@pytest.mark.parametrize("state", list(WorkerState))
def test_staying_in_a_state_is_allowed(state: WorkerState) -> None:
    assert transition(state, state) is state


@pytest.mark.parametrize(("current", "new"), sorted(ILLEGAL))
def test_illegal_steps_raise(current: WorkerState, new: WorkerState) -> None:
    with pytest.raises(IllegalTransition) as info:
        transition(current, new)
    message = str(info.value)
    assert "\n" not in message
    assert message == f"a worker cannot go from {current.value} to {new.value}"


def test_illegal_set_is_what_the_docstring_says() -> None:
    # Skipping BOOTING, and every backward step, is refused; GONE is final.
    assert {(R, U), (B, R), (U, R), (U, B), (G, R), (G, B), (G, U)} == ILLEGAL


@pytest.mark.parametrize("state", [R, B, U])
def test_every_live_state_may_go_straight_to_gone(state: WorkerState) -> None:
    assert transition(state, G) is G


@pytest.mark.parametrize("state", [R, B, U])
def test_gone_is_final(state: WorkerState) -> None:
    with pytest.raises(IllegalTransition):
        transition(G, state)


@settings(max_examples=200)
@given(steps=st.lists(st.sampled_from(list(WorkerState)), max_size=20))
def test_random_walks_only_move_forward(steps: list[WorkerState]) -> None:
    state = R
    for step in steps:
        before = state
        try:
            state = transition(state, step)
        except IllegalTransition:
            assert (before, step) in ILLEGAL
            assert state is before
            continue
        assert (before, step) in LEGAL | SAME
        assert ORDER.index(state) >= ORDER.index(before)
