"""Orders in: ORM^O01 (v2.3-2.4), OMI^O23 and OMG^O19 (v2.5.1), one ORC group per order.

ORC-1 (table 0119) says what to do: NW new, CA cancel, XO change, DC discontinue,
HD hold, RL release. Every NW group of a message becomes one referral with one
procedure each; the other groups act on the order they name. The answer repeats each
order with our ORC-1 (OK, CR, XR, DR, HR, OR; UA, UC, UX, UD, UH, UR when refused),
the placer's number, ours (the accession) and the order status (ORC-5, table 0038).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy.orm import Session

from lysbord.domain.errors import Msg
from lysbord.domain.priorities import Priority
from lysbord.hl7 import parse as p
from lysbord.hl7.ack import AnswerPatient, Location, OrderLine, Problem, order_answer
from lysbord.hl7.content import Handler, located, refuse, required
from lysbord.hl7.inbound_adt import actor_of, the_pid
from lysbord.hl7.mapping import (
    Order,
    clinical_question,
    cpr_of,
    hl7_date,
    orders,
    priority_of,
    reason_of,
    referring_unit,
    when,
)
from lysbord.hl7.parse import Parsed, value
from lysbord.services.core.context import Context
from lysbord.services.pathway import orders as svc
from lysbord.services.pathway.procedures import Action
from lysbord.services.pathway.referrals import NewReferral, Requested
from lysbord.store.models import Procedure, ProcedureCode

DONE = {"NW": "OK", "CA": "CR", "XO": "XR", "DC": "DR", "HD": "HR", "RL": "OR"}
UNABLE = {"NW": "UA", "CA": "UC", "XO": "UX", "DC": "UD", "HD": "UH", "RL": "UR"}
ACTIONS = {"CA": Action.CANCEL, "DC": Action.DISCONTINUE, "HD": Action.HOLD, "RL": Action.RELEASE}
STATUS = {  # our procedure state to ORC-5 (HL7 table 0038)
    "requested": "IP",
    "booked": "SC",
    "arrived": "SC",
    "no-show": "SC",
    "in-progress": "IP",
    "completed": "CM",
    "reported": "CM",
    "cancelled": "CA",
    "discontinued": "DC",
    "on-hold": "HD",
}


def apply_orders(ctx: Context, s: Session, parsed: Parsed, now: datetime) -> str:
    groups = orders(parsed.message)
    if not groups:
        raise refuse(Location("ORC"), Msg("the message has no ORC segment"), p.SEGMENT_SEQUENCE)
    for order in groups:
        if order.control not in DONE:
            raise refuse(
                order.at("ORC", 1),
                Msg(
                    "order control {control!r} is not one of {known}",
                    control=order.control,
                    known=", ".join(DONE),
                ),
                p.TABLE_VALUE,
            )
    new = [o for o in groups if o.control == "NW"]
    pid = the_pid(parsed)
    cpr = cpr_of(pid)
    placed = dict(zip((o.seq for o in new), _place(ctx, s, parsed, cpr, new, now), strict=True))
    lines = []
    for order in groups:
        procedure = placed.get(order.seq) or _act(ctx, s, parsed, order, now)
        code = s.get_one(ProcedureCode, procedure.code)
        lines.append(_done(order, procedure, code))
    cfg = ctx.settings.hl7
    patient = AnswerPatient(cpr, value(pid, 5, 1), value(pid, 5, 2))
    return order_answer(
        parsed.header, "AA", lines, patient=patient, us=(cfg.application, cfg.facility)
    )


def refused(ctx: Context, parsed: Parsed, problem: Problem) -> str:
    """Each order as sent (its number and OBR-4), ORC-1 saying it was not done."""
    lines = [
        OrderLine(
            UNABLE.get(o.control, "UA"), o.placer[0], o.filler, "", o.code, o.get("OBR", 4, 2)
        )
        for o in orders(parsed.message)
    ]
    cfg = ctx.settings.hl7
    return order_answer(parsed.header, "AE", lines, problem, us=(cfg.application, cfg.facility))


def _done(order: Order, procedure: Procedure | Requested, code: ProcedureCode) -> OrderLine:
    return OrderLine(
        DONE[order.control],
        order.placer[0],
        procedure.accession or "",
        STATUS.get(procedure.state, "IP"),
        code.code,
        code.name,
        procedure.study_uid,
        code.modality,
    )


def _place(
    ctx: Context, s: Session, parsed: Parsed, cpr: str, new: list[Order], now: datetime
) -> list[Requested]:
    if not new:
        return []
    required(cpr, Location("PID", 3))
    first = new[0]
    codes = [required(o.code, o.at("OBR", 4)) for o in new]
    priority, requested, protocol_days = _urgency(ctx, first, now)
    cfg = ctx.settings.hl7
    cmd = NewReferral(
        cpr=cpr,
        referring_unit=referring_unit(first, cfg.referring_unit_default)[:200],
        clinical_question=clinical_question(first),
        priority=priority,
        procedures=codes,
        requested_date=requested,
        protocol_days=protocol_days,
        placer_order_number=(first.get("ORC", 4) or first.placer[0] or None),
    )
    by_field = {f"procedures[{i}]": o.at("OBR", 4) for i, o in enumerate(new)}
    with located(
        Location("PID", 3),
        placer_order_number=first.at("ORC", 2),
        priority=first.at("TQ1", 9),
        requested_date=first.at("TQ1", 7),
        protocol_days=first.at("TQ1", 8),
        **by_field,
    ):
        placers = [svc.PlacerId(*o.placer) for o in new]
        return svc.place(ctx, s, cmd, placers, actor_of(parsed), now)


def _urgency(ctx: Context, order: Order, now: datetime) -> tuple[Priority, date | None, int | None]:
    """Priority, requested date and protocol days as the settings map them."""
    try:
        priority = priority_of(order, ctx.settings.hl7)
    except KeyError as exc:
        raise refuse(
            order.at("TQ1", 9) if order.tq1 is not None else order.at("ORC", 7),
            Msg("priority code {code!r} is not mapped (settings hl7.priorities)", code=exc.args[0]),
            p.TABLE_VALUE,
        ) from None
    start, end = when(order, 7, 4), when(order, 8, 5)
    try:
        requested = hl7_date(start) if start else None
        until = hl7_date(end) if end else None
    except ValueError as exc:
        raise refuse(order.at("TQ1", 7), Msg("{detail}", detail=str(exc)), p.DATA_TYPE) from None
    protocol_days = None
    if until is not None and priority is Priority.CANCER_PATHWAY:
        protocol_days = max(1, (until - now.date()).days)
    return priority, requested, protocol_days


def _act(ctx: Context, s: Session, parsed: Parsed, order: Order, now: datetime) -> Procedure:
    number, namespace = order.placer
    ref = svc.OrderRef(svc.PlacerId(number, namespace), order.filler)
    if not (order.filler or number):
        raise refuse(
            order.at("ORC", 3), Msg("names no order (ORC-2 and ORC-3 empty)"), p.REQUIRED_FIELD
        )
    where = order.at("ORC", 3) if order.filler else order.at("ORC", 2)
    with located(where, state=order.at("ORC", 1), code=order.at("OBR", 4)):
        procedure, referral = svc.find(s, ref)
        if order.control == "XO":
            svc.change(ctx, s, procedure, referral, _change(ctx, order, now), actor_of(parsed), now)
        else:
            action = ACTIONS[order.control]
            reason = reason_of(order, f"ORC-1 {order.control} from {parsed.header.sender_app}")
            svc.end(s, procedure, referral, action, reason, actor_of(parsed), now)
    return procedure


def _change(ctx: Context, order: Order, now: datetime) -> svc.OrderChange:
    sent = bool(order.get("TQ1", 9) or order.get("ORC", 7, 6) or order.get("OBR", 27, 6))
    priority, requested, protocol_days = _urgency(ctx, order, now)
    return svc.OrderChange(
        code=order.code or None,
        priority=priority if sent else None,
        clinical_question=clinical_question(order) if order.get("OBR", 31) else None,
        requested_date=requested,
        protocol_days=protocol_days,
    )


HANDLERS = {kind: Handler(apply_orders, refused) for kind in ("ORM^O01", "OMI^O23", "OMG^O19")}
