"""Outbound HL7 v2 messages, rendered from an outbox row's facts. Pure: strings in and out.

- SIU^S12/S13/S15 (HL7 v2.5 ch. 10): SCH, PID, RGS, AIS, AIL. SCH-6 event reason,
  SCH-11 timing (TQ: duration, start, end), SCH-25 filler status (table 0278).
- ORM^O01 status (ch. 4): ORC-1 ``SC`` (status changed), ORC-5 the order status
  (table 0038: SC scheduled, IP in process, CM completed, CA cancelled, DC
  discontinued, HD on hold), OBR with the IHE SWF keys (OBR-18 accession, OBR-24
  modality) and ZDS-1 the Study Instance UID (IHE RAD TF-2).
- ORU^R01 (ch. 7): OBR-25 and every OBX-11 carry the result status (P preliminary,
  F final, C corrected); the report text is one TX OBX per line.

Text is escaped (\\F\\ \\S\\ \\T\\ \\R\\ \\E\\, ch. 2.7); times are Copenhagen local time
with their UTC offset; MSH-18 is ``UNICODE UTF-8`` and the bytes on the wire UTF-8.
Rendering is deterministic (MSH-7 is when the change happened), so a message sent
again after a lost ACK is the same message under the same control ID.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from lysbord.config.hl7_out import Hl7Destination, Hl7OutSettings
from lysbord.domain.calendar import COPENHAGEN
from lysbord.services.core.outbox import MessageFacts, OrderFacts, PatientFacts, VisitFacts

CPR_AUTHORITY = "CPR&1.2.208.176.1.2&ISO"  # the Danish CPR register's OID
_ESCAPES = str.maketrans({"|": "\\F\\", "^": "\\S\\", "&": "\\T\\", "~": "\\R\\"})
_CONTROL = {c: " " for c in range(0x20) if c != 0x09} | {0x7F: " "}
_VISIT_STATUS = {"SIU^S12": "Booked", "SIU^S13": "Booked", "SIU^S15": "Cancelled"}
_EVENT_REASON = {"SIU^S12": "Booked", "SIU^S13": "Rescheduled", "SIU^S15": "Cancelled"}
_STRUCTURE = {"SIU": "SIU_S12", "ORM": "ORM_O01", "ORU": "ORU_R01"}


def esc(value: object) -> str:
    """A value as HL7 text: delimiters escaped, line breaks and controls made spaces."""
    text = "" if value is None else str(value)
    return text.replace("\\", "\\E\\").translate(_ESCAPES).translate(_CONTROL)


def ts(at: datetime | str) -> str:
    """HL7 DTM in Copenhagen local time with its offset: ``20261123080000+0100``."""
    moment = datetime.fromisoformat(at) if isinstance(at, str) else at
    return moment.astimezone(COPENHAGEN).strftime("%Y%m%d%H%M%S%z")


def control_id(message_id: int) -> str:
    """MSH-10: unique per outbox row and stable across re-sends (ST, at most 20)."""
    return f"LBO{message_id}"


def render(
    message_id: int, facts: MessageFacts, settings: Hl7OutSettings, dest: Hl7Destination
) -> str:
    """The whole message, segments joined by CR (no MLLP framing)."""
    family = facts.message_type[:3]
    body = {"SIU": _siu, "ORM": _orm, "ORU": _oru}[family](facts, settings)
    return "\r".join([_msh(message_id, facts, settings, dest), *body]) + "\r"


def _msh(message_id: int, facts: MessageFacts, s: Hl7OutSettings, dest: Hl7Destination) -> str:
    kind = facts.message_type
    if s.version != "2.3.1":
        kind += "^" + _STRUCTURE[kind[:3]]
    fields = [
        "MSH",
        "^~\\&",
        esc(s.sending_application),
        esc(s.sending_facility),
        esc(dest.receiving_application),
        esc(dest.receiving_facility),
        ts(facts.at),
        "",
        kind,
        control_id(message_id),
        "P",
        s.version,
        "",
        "",
        "",
        "",
        "DNK",
        "UNICODE UTF-8",
    ]
    return "|".join(fields)


def _segment(name: str, *fields: str) -> str:
    return "|".join([name, *fields]).rstrip("|")


def _at(name: str, values: dict[int, str]) -> str:
    """A segment from {field number: value}; the fields between stay empty."""
    return _segment(name, *(values.get(n, "") for n in range(1, max(values) + 1)))


def _pid(p: PatientFacts) -> str:
    authority = CPR_AUTHORITY if p.issuer == "CPR" else esc(p.issuer)
    kind = "NNDNK" if p.issuer == "CPR" else "PI"
    ident = f"{esc(p.number)}^^^{authority}^{kind}"
    name = f"{esc(p.family_name)}^{esc(p.given_name)}"
    born = date.fromisoformat(p.birth_date).strftime("%Y%m%d")
    return _segment("PID", "1", "", ident, "", name, "", born, esc(p.sex))


def _orders(o: OrderFacts, s: Hl7OutSettings) -> tuple[str, str]:
    """ORC-2/OBR-2 placer and ORC-3/OBR-3 filler order numbers (EI: id^namespace)."""
    placer = esc(o.placer_order_number) if o.placer_order_number else ""
    return placer, f"{esc(o.accession)}^{esc(s.sending_application)}"


def _obr(o: OrderFacts, s: Hl7OutSettings, at: str, result: str = "", author: str = "") -> str:
    placer, filler = _orders(o, s)
    return _at(
        "OBR",
        {
            1: "1",
            2: placer,
            3: filler,
            4: f"{esc(o.code)}^{esc(o.code_name)}^L",
            7: ts(at) if result else "",
            16: f"^{esc(o.referring_unit)}",
            18: esc(o.accession),
            19: esc(o.accession),
            24: esc(o.modality),
            25: result,
            32: esc(author),
        },
    )


def _orc(facts: MessageFacts, s: Hl7OutSettings, status: str, control: str = "SC") -> str:
    """ORC-1 ``SC`` (status changed) on ORM, ``RE`` (observations to follow) on ORU."""
    placer, filler = _orders(facts.order, s)
    why = f"^{esc(facts.reason)}" if facts.reason else ""
    return _at("ORC", {1: control, 2: placer, 3: filler, 5: status, 9: ts(facts.at), 16: why})


def _zds(o: OrderFacts, s: Hl7OutSettings) -> str:
    return _segment("ZDS", f"{esc(o.study_uid)}^{esc(s.sending_application)}^Application^DICOM")


def _orm(facts: MessageFacts, s: Hl7OutSettings) -> list[str]:
    status = facts.order_status or ""
    return [
        _pid(facts.patient),
        _orc(facts, s, status),
        _obr(facts.order, s, facts.at),
        _zds(facts.order, s),
    ]


def _oru(facts: MessageFacts, s: Hl7OutSettings) -> list[str]:
    report = facts.report
    if report is None:
        raise ValueError(f"{facts.message_type} without a report")
    result = {"preliminary": "P", "final": "F", "corrected": "C", "addendum": "C"}[report.status]
    code = "GDT^Report text^L"
    when, author = ts(report.written_at), esc(report.author)
    flag = "AA" if report.acute else ""  # OBX-8, HL7 table 0078: critically abnormal
    obx = [
        _at(
            "OBX",
            {1: str(i), 2: "TX", 3: code, 4: str(report.version), 5: esc(line)}
            | {8: flag, 11: result, 14: when, 16: author},
        )
        for i, line in enumerate(report.text.splitlines() or [""], start=1)
    ]
    obr = _obr(facts.order, s, report.written_at, result, report.author)
    return [_pid(facts.patient), _orc(facts, s, "CM", "RE"), obr, *obx]


def _siu(facts: MessageFacts, s: Hl7OutSettings) -> list[str]:
    visit = facts.visit
    if visit is None:
        raise ValueError(f"{facts.message_type} without an appointment")
    order = facts.order
    start = datetime.fromisoformat(visit.start_at)
    end = start + timedelta(minutes=visit.minutes)
    reason = _EVENT_REASON[facts.message_type]
    if facts.reason and facts.message_type == "SIU^S15":
        reason += f": {facts.reason}"
    placer, filler = _orders(order, s)
    minutes, begins = str(visit.minutes), ts(start)
    sch = {
        2: f"{visit.appointment_id}^{esc(s.sending_application)}",
        6: f"^{esc(reason)}",
        9: minutes,
        10: "min",
        11: f"^^M{minutes}^{begins}^{ts(end)}",
        25: _VISIT_STATUS[facts.message_type],
        26: placer,
        27: filler,
    }
    service = f"{esc(order.code)}^{esc(order.code_name)}^L"
    return [
        _at("SCH", sch),
        _pid(facts.patient),
        "RGS|1",
        _at("AIS", {1: "1", 3: service, 4: begins, 7: minutes, 8: "min"}),
        _at("AIL", {1: "1", 3: _place(visit), 6: begins, 9: minutes, 10: "min"}),
    ]


def _place(v: VisitFacts) -> str:
    """AIL-3 (PL): point of care (site), room, facility (site), description (room name)."""
    site = esc(v.site_code)
    return f"{site}^{esc(v.room_code)}^^{site}^^^^^{esc(v.room_name)}"
