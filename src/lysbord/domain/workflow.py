"""The life of a requested procedure, as a small state machine (IHE Radiology SWF).

Every state change goes through ``check_transition`` so that no procedure can skip
a step silently (e.g. be reported without being performed, or vanish from the
booking queue without a cancellation and a reason).
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from types import MappingProxyType

from lysbord.domain.errors import IllegalTransition, Msg


class ProcedureState(StrEnum):
    """Where a requested procedure is in the scheduled workflow."""

    REQUESTED = "requested"
    BOOKED = "booked"
    ARRIVED = "arrived"
    IN_PROGRESS = "in-progress"
    COMPLETED = "completed"
    REPORTED = "reported"
    CANCELLED = "cancelled"
    DISCONTINUED = "discontinued"
    NO_SHOW = "no-show"
    ON_HOLD = "on-hold"


_S = ProcedureState

#: The allowed next states of each state. Booked → booked is a rebooking; booked or
#: no-show → requested puts a still-wanted procedure back in the booking queue;
#: reported → reported is an addendum or corrected report.
TRANSITIONS: Mapping[ProcedureState, frozenset[ProcedureState]] = MappingProxyType(
    {
        _S.REQUESTED: frozenset({_S.BOOKED, _S.CANCELLED, _S.ON_HOLD}),
        _S.BOOKED: frozenset(
            {_S.BOOKED, _S.ARRIVED, _S.NO_SHOW, _S.CANCELLED, _S.REQUESTED, _S.ON_HOLD}
        ),
        _S.ARRIVED: frozenset({_S.IN_PROGRESS, _S.CANCELLED, _S.BOOKED}),
        _S.IN_PROGRESS: frozenset({_S.COMPLETED, _S.DISCONTINUED}),
        _S.COMPLETED: frozenset({_S.REPORTED}),
        _S.REPORTED: frozenset({_S.REPORTED}),
        _S.CANCELLED: frozenset(),
        _S.DISCONTINUED: frozenset(),
        _S.NO_SHOW: frozenset({_S.BOOKED, _S.CANCELLED, _S.REQUESTED}),
        _S.ON_HOLD: frozenset({_S.REQUESTED, _S.CANCELLED}),
    }
)

#: States in which the procedure is finished and no longer waits in any queue.
TERMINAL: frozenset[ProcedureState] = frozenset({_S.REPORTED, _S.CANCELLED, _S.DISCONTINUED})

_NEEDS_REASON = frozenset({_S.CANCELLED, _S.DISCONTINUED, _S.ON_HOLD})


def check_transition(current: ProcedureState, target: ProcedureState) -> None:
    """Refuse a state change the workflow does not allow, saying what would be allowed."""
    allowed = TRANSITIONS[current]
    if target in allowed:
        return
    if allowed:
        options = tuple(s for s in ProcedureState if s in allowed)
        hint = Msg("from {current} it can only go to: {options}", current=current, options=options)
    else:
        hint = Msg("{current} is final", current=current)
    raise IllegalTransition(
        Msg(
            "cannot go from {current} to {target} ({hint})",
            current=current,
            target=target,
            hint=hint,
        ),
        field="state",
        value=str(target),
        current=current.value,
        target=target.value,
    )


def needs_reason(target: ProcedureState) -> bool:
    """Whether entering ``target`` must record why (cancelled, discontinued, on hold).

    A procedure must never leave the pipeline, or pause in it, without a reason that
    can be audited; a no-show is a fact and needs none.
    """
    return target in _NEEDS_REASON
