"""The examination run by hand at the room, as MPPS from the scanner would run it.

Start, complete and discontinue are the procedure's own actions (``procedures.perform``,
the moves MPPS makes), so a scanner's MPPS for an examination started here finds it
in progress and is linked to it, not counted twice. What only a person can say lives
here: why someone off the room's roster starts it (``roster``), how many images to
expect at completion (none said: they follow), and a technical repeat (an exposure
taken again: a quality indicator, not a state).
"""

from __future__ import annotations

from lysbord.domain.calendar import local_date
from lysbord.domain.errors import Conflict, IllegalTransition, InvalidValue, Msg
from lysbord.domain.workflow import ProcedureState
from lysbord.services.core.context import Context
from lysbord.services.core.events import record
from lysbord.services.pathway.procedures import Action, perform
from lysbord.services.pathway.roster import off_roster
from lysbord.store.models import Slot
from lysbord.store.queries import active_appointment, procedure_by_accession

#: More than any study a modality makes in one examination (a long CT: a few thousand).
MAX_IMAGES = 100_000


def start(ctx: Context, accession: str, actor: str, reason: str | None = None) -> None:
    """Started at the room by ``actor``; off the day's roster for the procedure's room it
    needs a reason (Conflict on ``reason``), kept on the start's event."""
    now = ctx.now()
    why = (reason or "").strip() or None
    with ctx.uow() as uow:
        s = uow.session
        procedure, referral = procedure_by_accession(s, accession, for_update=True)
        appointment = active_appointment(s, procedure.id)
        if appointment is not None and why is None:
            room_id = s.get_one(Slot, appointment.slot_id).room_id
            if off_roster(s, room_id, local_date(now), actor) is not None:
                raise Conflict(
                    Msg("not on today's roster for this room: a start needs a reason"),
                    field="reason",
                )
        perform(s, procedure, referral, Action.START, actor, now, why)
        uow.commit()


def complete(ctx: Context, accession: str, actor: str, images_expected: int | None) -> None:
    """Completed at the room, with the number of images to expect (``None``: they follow)."""
    if images_expected is not None and not 1 <= images_expected <= MAX_IMAGES:
        raise InvalidValue(
            Msg("must be from 1 to {max_images}", max_images=MAX_IMAGES),
            field="images_expected",
            value=images_expected,
        )
    with ctx.uow() as uow:
        s = uow.session
        procedure, referral = procedure_by_accession(s, accession, for_update=True)
        perform(s, procedure, referral, Action.COMPLETE, actor, ctx.now())
        procedure.images_expected = images_expected
        uow.commit()


def repeat(ctx: Context, accession: str, reason: str, actor: str) -> None:
    """A technical repeat during the examination, with why (positioning, motion, exposure)."""
    if not reason.strip():
        raise InvalidValue(Msg("a technical repeat needs a reason"), field="reason")
    now = ctx.now()
    with ctx.uow() as uow:
        s = uow.session
        procedure, referral = procedure_by_accession(s, accession, for_update=True)
        if procedure.state != ProcedureState.IN_PROGRESS:
            raise IllegalTransition(
                Msg(
                    "a technical repeat needs an examination in progress, not {state}",
                    state=ProcedureState(procedure.state),
                ),
                field="state",
                value=procedure.state,
            )
        record(
            s,
            "procedure.repeated",
            actor=actor,
            at=now,
            patient_id=referral.patient_id,
            referral_id=referral.id,
            procedure_id=procedure.id,
            reason=reason.strip(),
        )
        uow.commit()
