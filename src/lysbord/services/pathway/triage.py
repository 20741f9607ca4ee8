"""Triage: a person sets or changes a referral's priority, and its deadlines follow.

The deadline is a legal right (DOMAIN.md §3) counted from when the hospital received
the referral, so a new priority recomputes ``due_at`` and ``notify_by`` from
``received_at``, never from the moment of triage. The change is an event with the
old and new priority and deadline and the reason, in the same transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from lysbord.domain.errors import Conflict, InvalidValue, Msg, NotFound
from lysbord.domain.priorities import Priority, compute_deadlines
from lysbord.services.core.context import Context
from lysbord.services.core.events import record
from lysbord.services.pathway.views import ReferralView, referral_views
from lysbord.store.models import Referral

#: Screening referrals get their deadline from the screening round, not from triage.
TRIAGE_PRIORITIES = tuple(p for p in Priority if p is not Priority.SCREENING)


@dataclass(frozen=True, slots=True)
class Triage:
    priority: Priority
    reason: str
    requested_date: date | None = None  # follow-up only: the planned control's date


def triage(ctx: Context, referral_id: int, cmd: Triage, actor: str) -> ReferralView:
    """Set the referral's priority with a reason; ``due_at`` and ``notify_by`` recomputed."""
    if not cmd.reason.strip():
        raise InvalidValue(Msg("a change of priority needs a reason"), field="reason")
    if cmd.priority not in TRIAGE_PRIORITIES:
        raise InvalidValue(
            Msg("screening priority is set by the screening round"),
            field="priority",
            value=cmd.priority,
        )
    now = ctx.now()
    with ctx.uow() as uow:
        s = uow.session
        referral = s.get(Referral, referral_id, with_for_update=True)
        if referral is None:
            raise NotFound(Msg("no such referral"), field="referral_id", value=referral_id)
        if referral.closed_at is not None:
            raise Conflict(
                Msg("the referral is closed: {close_reason}", close_reason=referral.close_reason),
                field="referral_id",
                value=referral_id,
            )
        deadlines = compute_deadlines(
            cmd.priority,
            referral.received_at,
            ctx.settings.deadlines.policy(),
            requested_date=cmd.requested_date,
        )
        record(
            s,
            "referral.triaged",
            actor=actor,
            at=now,
            patient_id=referral.patient_id,
            referral_id=referral.id,
            reason=cmd.reason.strip(),
            from_priority=referral.priority,
            to_priority=cmd.priority.value,
            from_due_at=referral.due_at.isoformat(),
            due_at=deadlines.due_at.isoformat(),
        )
        referral.priority = cmd.priority.value
        referral.due_at, referral.notify_by = deadlines.due_at, deadlines.notify_by
        referral.earliest_at = deadlines.earliest_at
        view = referral_views(s, [referral], now)[0]
        uow.commit()
    return view
