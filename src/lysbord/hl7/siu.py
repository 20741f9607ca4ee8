"""SIU appointment notifications (HL7 v2.5 ch. 10): S12 booked, S13 rescheduled, S15
cancelled, S26 patient did not come. Pure: facts in, segments out.

SCH, PID, RGS, AIS (the examination) and AIL (the room), all of structure SIU_S12.
What the standard requires is always filled: SCH-6 why the message was sent (a local
code), SCH-16 who schedules the appointment (the site's booking contact, its telephone
in SCH-17), SCH-20 who entered it (the user who booked), SCH-11 the timing (required
until v2.4, kept after for the receivers that still read it), AIL-4 the location type
(required until v2.4). SCH-25 is the filler status (table 0278); ``Noshow`` is in it
from v2.5, so an S26 before v2.5 leaves it empty. SCH-26/27 (order numbers) exist from
v2.4.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from lysbord.config.hl7_out import Hl7OutSettings
from lysbord.hl7.er7 import at, esc, since, split_name, ts, xcn, xtn
from lysbord.hl7.segments_out import order_numbers, pid, service
from lysbord.services.core.outbox import MessageFacts, VisitFacts

#: SCH-6 (CE, local codes): why the notification was sent.
REASONS = {
    "SIU^S12": "BOOKED^Booked",
    "SIU^S13": "RESCHEDULED^Rescheduled",
    "SIU^S15": "CANCELLED^Cancelled",
    "SIU^S26": "NOSHOW^Did not come",
}
#: SCH-25 (table 0278), and the version that has the code.
STATUS = {
    "SIU^S12": ("Booked", "2.3"),
    "SIU^S13": ("Booked", "2.3"),
    "SIU^S15": ("Cancelled", "2.3"),
    "SIU^S26": ("Noshow", "2.5"),
}
NO_SHOW = "procedure.no-show"
DEPARTMENT = "D^Department^HL70305"  # AIL-4: a room of the radiology department


def siu(facts: MessageFacts, s: Hl7OutSettings) -> list[str]:
    """The segments after MSH."""
    visit = facts.visit
    if visit is None:
        raise ValueError(f"{facts.message_type} without an appointment")
    start = datetime.fromisoformat(visit.start_at)
    begins, minutes = ts(start), str(visit.minutes)
    exam = service(facts.order.code, facts.order.code_name)
    return [
        _sch(facts, visit, s, start),
        pid(facts.patient),
        "RGS|1",
        at("AIS", {1: "1", 3: exam, 4: begins, 7: minutes, 8: "min"}),
        at("AIL", {1: "1", 3: _place(visit), 4: DEPARTMENT, 6: begins, 9: minutes, 10: "min"}),
    ]


def _sch(facts: MessageFacts, visit: VisitFacts, s: Hl7OutSettings, start: datetime) -> str:
    us = s.sending_application
    end = ts(start + timedelta(minutes=visit.minutes))
    minutes = str(visit.minutes)
    status, first = STATUS[facts.message_type]
    fields = {
        2: f"{visit.appointment_id}^{esc(us)}",
        6: _reason(facts),
        9: minutes,
        10: "min",
        11: f"^^M{minutes}^{ts(start)}^{end}",
        16: xcn(visit.site_code, visit.contact_name, "", us),
        17: xtn(visit.contact_phone),
        20: xcn(visit.booked_by, *split_name(visit.booked_by_name), us),
        25: status if since(s.version, first) else "",
    }
    if since(s.version, "2.4"):
        fields[26], fields[27] = order_numbers(facts.order, us)
    return at("SCH", fields)


def _reason(facts: MessageFacts) -> str:
    """SCH-6: code^text^L; a no-show sent as S15 still says it was a no-show."""
    key = "SIU^S26" if facts.event == NO_SHOW else facts.message_type
    code, text = REASONS[key].split("^")
    if facts.reason and key == "SIU^S15":
        text += f": {facts.reason}"
    return f"{code}^{esc(text)}^L"


def _place(v: VisitFacts) -> str:
    """AIL-3 (PL): point of care (site), room, facility (site), description (room name)."""
    site = esc(v.site_code)
    return f"{site}^{esc(v.room_code)}^^{site}^^^^^{esc(v.room_name)}"
