"""The procedure state machine: every allowed transition, every other one refused."""

from __future__ import annotations

import itertools

import pytest

from lysbord.domain.errors import Conflict, IllegalTransition
from lysbord.domain.workflow import (
    TERMINAL,
    TRANSITIONS,
    ProcedureState,
    check_transition,
    needs_reason,
)

S = ProcedureState

# Written out independently of TRANSITIONS so that a change there must be deliberate.
ALLOWED = {
    (S.REQUESTED, S.BOOKED),
    (S.REQUESTED, S.CANCELLED),
    (S.REQUESTED, S.ON_HOLD),
    (S.BOOKED, S.BOOKED),
    (S.BOOKED, S.ARRIVED),
    (S.BOOKED, S.NO_SHOW),
    (S.BOOKED, S.CANCELLED),
    (S.BOOKED, S.REQUESTED),
    (S.BOOKED, S.ON_HOLD),
    (S.ARRIVED, S.IN_PROGRESS),
    (S.ARRIVED, S.CANCELLED),
    (S.ARRIVED, S.BOOKED),
    (S.IN_PROGRESS, S.COMPLETED),
    (S.IN_PROGRESS, S.DISCONTINUED),
    (S.COMPLETED, S.REPORTED),
    (S.NO_SHOW, S.BOOKED),
    (S.NO_SHOW, S.CANCELLED),
    (S.NO_SHOW, S.REQUESTED),
    (S.ON_HOLD, S.REQUESTED),
    (S.ON_HOLD, S.CANCELLED),
    (S.REPORTED, S.REPORTED),
}
FORBIDDEN = sorted(set(itertools.product(S, S)) - ALLOWED)


def test_state_values() -> None:
    assert [s.value for s in S] == [
        "requested",
        "booked",
        "arrived",
        "in-progress",
        "completed",
        "reported",
        "cancelled",
        "discontinued",
        "no-show",
        "on-hold",
    ]


def test_transitions_table_matches_the_specification() -> None:
    assert set(TRANSITIONS) == set(S)
    assert {(a, b) for a, targets in TRANSITIONS.items() for b in targets} == ALLOWED


@pytest.mark.parametrize(("current", "target"), sorted(ALLOWED))
def test_allowed(current: ProcedureState, target: ProcedureState) -> None:
    check_transition(current, target)


@pytest.mark.parametrize(("current", "target"), FORBIDDEN)
def test_forbidden(current: ProcedureState, target: ProcedureState) -> None:
    with pytest.raises(IllegalTransition) as info:
        check_transition(current, target)
    assert info.value.field == "state"
    assert info.value.value == str(target)
    assert f"cannot go from {current} to {target}" in info.value.reason


def test_forbidden_message_lists_the_allowed_next_states() -> None:
    with pytest.raises(IllegalTransition) as info:
        check_transition(S.REQUESTED, S.REPORTED)
    assert str(info.value) == (
        "Invalid state 'reported': cannot go from requested to reported "
        "(from requested it can only go to: booked, cancelled, on-hold)"
    )
    assert isinstance(info.value, Conflict)


@pytest.mark.parametrize("state", [S.CANCELLED, S.DISCONTINUED])
def test_final_states_say_so(state: ProcedureState) -> None:
    with pytest.raises(IllegalTransition, match=f"{state} is final"):
        check_transition(state, S.REQUESTED)


def test_terminal_states() -> None:
    assert frozenset({S.REPORTED, S.CANCELLED, S.DISCONTINUED}) == TERMINAL
    for state in TERMINAL:
        assert TRANSITIONS[state] <= {S.REPORTED}  # at most the addendum self-loop


def test_every_open_state_can_reach_a_terminal_state() -> None:
    """No procedure can get stuck: from every state some path ends in TERMINAL."""
    for start in S:
        seen, todo = {start}, [start]
        while todo:
            for nxt in TRANSITIONS[todo.pop()] - seen:
                seen.add(nxt)
                todo.append(nxt)
        assert seen & TERMINAL, start


def test_transitions_cannot_be_changed_at_runtime() -> None:
    with pytest.raises(TypeError):
        TRANSITIONS[S.CANCELLED] = frozenset({S.REQUESTED})  # type: ignore[index]


@pytest.mark.parametrize(
    ("target", "expected"),
    [(s, s in {S.CANCELLED, S.DISCONTINUED, S.ON_HOLD}) for s in S],
)
def test_needs_reason(target: ProcedureState, expected: bool) -> None:
    assert needs_reason(target) is expected
