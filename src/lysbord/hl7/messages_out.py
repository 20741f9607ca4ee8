"""Outbound HL7 v2 messages, rendered from an outbox row's facts. Pure: strings in and out.

One builder per message type (docs/hl7-conformance.md lists every field):
- SIU^S12/S13/S15/S26: ``hl7.siu``.
- ORM^O01 status (ch. 4): ORC-1 ``SC`` (status changed), ORC-5 the order status
  (table 0038: SC scheduled, IP in process, CM completed, CA cancelled, DC
  discontinued, HD on hold), OBR with the IHE SWF keys and ZDS-1 the Study Instance
  UID (IHE RAD TF-2). OMI^O23 (v2.5, IHE SWF.b) says the same with IPC instead of ZDS.
- ORU^R01 (ch. 7): OBR-25 and every OBX-11 carry the result status (P preliminary,
  F final, C corrected); the report text is one TX OBX per line.

Text is escaped (``hl7.er7``); times are Copenhagen local time with their UTC offset;
MSH-18 is ``UNICODE UTF-8`` and the bytes on the wire UTF-8. Rendering is
deterministic (MSH-7 is when the change happened), so a message sent again after a
lost ACK is the same message under the same control ID.
"""

from __future__ import annotations

from collections.abc import Callable

from lysbord.config.hl7_out import Hl7Destination, Hl7OutSettings
from lysbord.hl7.er7 import at, esc, ipc, join, message_type, msh, segment, ts
from lysbord.hl7.segments_out import obr, orc, pid
from lysbord.hl7.siu import siu
from lysbord.services.core.outbox import MessageFacts

CHARSET = "UNICODE UTF-8"
Body = Callable[[MessageFacts, Hl7OutSettings], list[str]]


def control_id(message_id: int) -> str:
    """MSH-10: unique per outbox row and stable across re-sends (ST, at most 20)."""
    return f"LBO{message_id}"


def render(
    message_id: int, facts: MessageFacts, settings: Hl7OutSettings, dest: Hl7Destination
) -> str:
    """The whole message, segments joined by CR (no MLLP framing)."""
    code, trigger = facts.message_type.split("^")
    body, structure = BODIES[facts.message_type]
    header = msh(
        (settings.sending_application, settings.sending_facility),
        (dest.receiving_application, dest.receiving_facility),
        facts.at,
        message_type(code, trigger, structure, settings.version),
        control_id(message_id),
        settings.version,
        CHARSET,
        country="DNK",
    )
    return join([header, *body(facts, settings)])


def _status(facts: MessageFacts, us: str) -> list[str]:
    """PID, ORC and OBR of an order status message (ORM^O01 and OMI^O23 alike)."""
    status = orc(facts, us, facts.order_status or "")
    return [pid(facts.patient), status, obr(facts.order, us, facts.at)]


def _orm(facts: MessageFacts, s: Hl7OutSettings) -> list[str]:
    o, us = facts.order, s.sending_application
    return [*_status(facts, us), segment("ZDS", f"{esc(o.study_uid)}^{esc(us)}^Application^DICOM")]


def _omi(facts: MessageFacts, s: Hl7OutSettings) -> list[str]:
    o = facts.order
    return [*_status(facts, s.sending_application), ipc(o.accession, o.study_uid, o.modality)]


def _oru(facts: MessageFacts, s: Hl7OutSettings) -> list[str]:
    report = facts.report
    if report is None:
        raise ValueError(f"{facts.message_type} without a report")
    result = {"preliminary": "P", "final": "F", "corrected": "C", "addendum": "C"}[report.status]
    code = "GDT^Report text^L"
    when, author = ts(report.written_at), esc(report.author)
    flag = "AA" if report.acute else ""  # OBX-8, HL7 table 0078: critically abnormal
    obx = [
        at(
            "OBX",
            {1: str(i), 2: "TX", 3: code, 4: str(report.version), 5: esc(line)}
            | {8: flag, 11: result, 14: when, 16: author},
        )
        for i, line in enumerate(report.text.splitlines() or [""], start=1)
    ]
    us = s.sending_application
    found = obr(facts.order, us, report.written_at, result, report.author)
    return [pid(facts.patient), orc(facts, us, "CM", "RE"), found, *obx]


#: Each message type: its builder and its message structure (MSH-9.3, table 0354).
BODIES: dict[str, tuple[Body, str]] = {
    **{f"SIU^{e}": (siu, "SIU_S12") for e in ("S12", "S13", "S15", "S26")},
    "ORM^O01": (_orm, "ORM_O01"),
    "OMI^O23": (_omi, "OMI_O23"),
    "ORU^R01": (_oru, "ORU_R01"),
}
