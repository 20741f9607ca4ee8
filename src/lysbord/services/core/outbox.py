"""The transactional outbox: events become messages to send, in the same transaction.

``services/core/events.record`` calls ``on_event`` for every change. Most events (an image
received, a patient registered) trigger no outbound message and cost one dict lookup;
the rest gather the facts their message needs (patient, order, appointment, report)
and write one ``outbox_messages`` row per subscribed destination, of the type that
destination takes (``Hl7Destination.sent_as``: S26 or S15 for a no-show, ORM or OMI).
The row commits or rolls back with the change, so a receiver is never told of a change
that did not happen, nor left untold of one that did. The HL7 door renders the facts
and sends.

Which destinations subscribe is per database engine (``subscribe``), set where the
engine is built for serving; an engine nobody subscribed writes no rows.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Any
from weakref import WeakKeyDictionary

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from lysbord.config.hl7_out import Hl7OutSettings, MessageFamily
from lysbord.store.models import (
    Appointment,
    Event,
    Patient,
    PatientIdentifier,
    Procedure,
    Referral,
    Site,
)
from lysbord.store.outbox_models import OutboxMessage, Report
from lysbord.store.queries import active_appointment, procedure_code, slot_with_room
from lysbord.store.user_models import User

# HL7 table 0038 (order status, ORC-5) for the procedure states a receiver hears about.
ORDER_STATUS = {
    "booked": "SC",
    "in-progress": "IP",
    "completed": "CM",
    "cancelled": "CA",
    "discontinued": "DC",
    "on-hold": "HD",
}
# OBX-11 / OBR-25 result status for each kind of report event.
REPORT_STATUS = {
    "report.preliminary": "P",
    "report.final": "F",
    "report.corrected": "C",
    "report.addendum": "C",
}
_ENDS_VISIT = frozenset({"cancelled", "on-hold"})
_HAD_VISIT = frozenset({"booked", "arrived"})

_subscriptions: WeakKeyDictionary[Engine, Hl7OutSettings] = WeakKeyDictionary()


def subscribe(engine: Engine, settings: Hl7OutSettings) -> None:
    """Route this engine's events to the configured destinations (none: no rows)."""
    if settings.destinations:
        _subscriptions[engine] = settings
    else:
        _subscriptions.pop(engine, None)


@dataclass(frozen=True, slots=True)
class PatientFacts:
    number: str
    issuer: str
    family_name: str
    given_name: str
    birth_date: str
    sex: str


@dataclass(frozen=True, slots=True)
class OrderFacts:
    accession: str
    placer_order_number: str | None
    code: str
    code_name: str
    modality: str
    study_uid: str
    priority: str
    referring_unit: str


@dataclass(frozen=True, slots=True)
class VisitFacts:
    """The appointment; rows queued by an earlier Lysbord lack the contact and booker."""

    appointment_id: int
    start_at: str
    minutes: int
    room_code: str
    room_name: str
    site_code: str
    site_name: str
    contact_name: str = ""  # the site's, for SCH-16
    contact_phone: str = ""  # SCH-17
    booked_by: str = ""  # the user (or process) who booked it, for SCH-20
    booked_by_name: str = ""  # that user's display name; empty for a process


@dataclass(frozen=True, slots=True)
class ReportFacts:
    version: int
    status: str
    text: str
    author: str
    written_at: str
    acute: bool = False  # messages queued before reports could be acute say nothing


@dataclass(frozen=True, slots=True)
class MessageFacts:
    """Everything one outbound message says, as it was when the change committed."""

    message_type: str  # as sent to the destination (its choice of S26 or S15, ORM or OMI)
    at: str
    actor: str
    reason: str | None
    order_status: str | None
    patient: PatientFacts
    order: OrderFacts
    visit: VisitFacts | None = None
    report: ReportFacts | None = None
    # the event's kind (``procedure.no-show``); empty in rows queued by an earlier Lysbord
    event: str = ""

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> MessageFacts:
        visit, report = payload.get("visit"), payload.get("report")
        return cls(
            **{
                k: v for k, v in payload.items() if k not in ("patient", "order", "visit", "report")
            },
            patient=PatientFacts(**payload["patient"]),
            order=OrderFacts(**payload["order"]),
            visit=VisitFacts(**visit) if visit else None,
            report=ReportFacts(**report) if report else None,
        )


Trigger = tuple[str, MessageFamily, str | None]


def triggers(kind: str, from_state: str | None, to_state: str | None) -> list[Trigger]:
    """The messages an event causes: (message type, family, ORC-5 status). Pure."""
    if kind in REPORT_STATUS:
        return [("ORU^R01", "ORU", None)]
    found: list[Trigger] = []
    had_visit = from_state in _HAD_VISIT
    if kind == "procedure.booked":
        found.append(("SIU^S12", "SIU", None))
    elif kind == "procedure.rebooked":
        found.append(("SIU^S13", "SIU", None))
    elif had_visit and to_state == "no-show":
        found.append(("SIU^S26", "SIU", None))
    elif kind == "appointment.cancelled" or (had_visit and to_state in _ENDS_VISIT):
        found.append(("SIU^S15", "SIU", None))
    status = ORDER_STATUS.get(to_state or "")
    if status is not None:
        found.append(("ORM^O01", "ORM", status))
    return found


def on_event(session: Session, event: Event) -> None:
    """Write the outbox rows this event causes; cheap when it causes none."""
    found = triggers(event.kind, event.from_state, event.to_state)
    if not found or event.procedure_id is None:
        return
    settings = _subscriptions.get(session.get_bind().engine)
    if settings is None:
        return
    wanted = [(t, settings.subscribed(t[1])) for t in found]
    if not any(dests for _, dests in wanted):
        return
    session.flush()
    for (message_type, family, status), dests in wanted:
        facts = gather(session, event, message_type, status)
        if family == "SIU" and facts.visit is None:
            continue  # no appointment to speak of (e.g. cancelled before it was booked)
        for dest in dests:
            sent = dest.sent_as(message_type)
            session.add(
                OutboxMessage(
                    destination=dest.name,
                    message_type=sent,
                    patient_key=str(event.patient_id),
                    event_id=event.id,
                    payload=asdict(replace(facts, message_type=sent)),
                    status="pending",
                    attempts=0,
                    created_at=event.at,
                    next_attempt_at=event.at,
                )
            )


def gather(session: Session, event: Event, message_type: str, status: str | None) -> MessageFacts:
    """The facts of one message, read in the transaction that made the change."""
    procedure = session.get_one(Procedure, event.procedure_id)
    referral = session.get_one(Referral, procedure.referral_id)
    report_id = event.data.get("report_id")
    return MessageFacts(
        message_type=message_type,
        event=event.kind,
        at=event.at.isoformat(),
        actor=event.actor,
        reason=event.reason,
        order_status=status,
        patient=_patient(session, referral.patient_id),
        order=_order(session, procedure, referral),
        visit=_visit(session, procedure.id, event.data) if message_type[:3] == "SIU" else None,
        report=_report(session.get_one(Report, report_id)) if report_id else None,
    )


def _patient(session: Session, patient_id: int) -> PatientFacts:
    patient = session.get_one(Patient, patient_id)
    ident = session.scalars(
        select(PatientIdentifier)
        .where(PatientIdentifier.patient_id == patient_id)
        .order_by(PatientIdentifier.id)
        .limit(1)
    ).first()
    return PatientFacts(
        number=ident.value if ident else "",
        issuer=ident.issuer if ident else "",
        family_name=patient.family_name,
        given_name=patient.given_name,
        birth_date=patient.birth_date.isoformat(),
        sex=patient.sex,
    )


def _order(session: Session, procedure: Procedure, referral: Referral) -> OrderFacts:
    code = procedure_code(session, procedure.code)
    return OrderFacts(
        accession=procedure.accession or "",
        placer_order_number=referral.placer_order_number,
        code=code.code,
        code_name=code.name,
        modality=code.modality,
        study_uid=procedure.study_uid,
        priority=referral.priority,
        referring_unit=referral.referring_unit,
    )


def _visit(session: Session, procedure_id: int, data: dict[str, Any]) -> VisitFacts | None:
    """The appointment the message is about: the one named, else the active one."""
    appointment_id = data.get("appointment_id")
    appointment = (
        session.get(Appointment, appointment_id)
        if appointment_id
        else active_appointment(session, procedure_id)
    )
    if appointment is None:
        return None
    slot, room = slot_with_room(session, appointment.slot_id)
    site = session.get_one(Site, room.site_id)
    booker = session.scalar(select(User.display_name).where(User.username == appointment.booked_by))
    return VisitFacts(
        appointment_id=appointment.id,
        start_at=slot.start_at.isoformat(),
        minutes=slot.minutes,
        room_code=room.code,
        room_name=room.name,
        site_code=site.code,
        site_name=site.name,
        contact_name=site.contact_name or "",
        contact_phone=site.contact_phone or "",
        booked_by=appointment.booked_by,
        booked_by_name=booker or "",
    )


def _report(report: Report) -> ReportFacts:
    return ReportFacts(
        version=report.version,
        status=report.status,
        text=report.text,
        author=report.author,
        written_at=report.written_at.isoformat(),
        acute=report.acute,
    )
