"""Rendering outbound messages (pure): escaping, times, triggers, and that they parse."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from lysbord.config.hl7_out import Hl7Destination, Hl7OutSettings
from lysbord.hl7.er7 import esc, ts
from lysbord.hl7.messages_out import render
from lysbord.hl7.outbound import read_ack
from lysbord.hl7.parse import parse, segments, value
from lysbord.services.core.outbox import (
    MessageFacts,
    OrderFacts,
    PatientFacts,
    ReportFacts,
    VisitFacts,
    triggers,
)

PATIENT = PatientFacts("0101651234", "CPR", "Ærø", "Søren Åse", "1965-01-01", "M")
ORDER = OrderFacts(
    "LB00000042", "EHR-77", "UXCC00", "CT af thorax", "CT", "2.25.1", "routine", "Lunge|afd"
)
VISIT = VisitFacts(9, "2026-06-01T06:00:00+00:00", 15, "CT1", "CT 1", "AAA", "Alfa Hospital")
REPORT = ReportFacts(
    2, "corrected", "Linje 1\n\nLinje 3 & mere", "Dr. Ø", "2026-11-23T09:30:00+00:00"
)
DEST = Hl7Destination(name="ehr", host="127.0.0.1", port=1, receiving_application="EPJ")


def facts(message_type: str, **kw: object) -> MessageFacts:
    base: dict[str, object] = {
        "message_type": message_type,
        "at": "2026-11-23T07:00:00+00:00",
        "actor": "tester",
        "reason": None,
        "order_status": None,
        "patient": PATIENT,
        "order": ORDER,
    }
    return MessageFacts(**(base | kw))  # type: ignore[arg-type]


def test_escape_delimiters_and_controls() -> None:
    assert esc("a|b^c&d~e\\f") == "a\\F\\b\\S\\c\\T\\d\\R\\e\\E\\f"
    assert esc("x\ry\nz\x0b\x1c") == "x y z  "
    assert esc(None) == ""


def test_times_are_copenhagen_with_offset() -> None:
    assert ts(datetime(2026, 11, 23, 7, 0, tzinfo=UTC)) == "20261123080000+0100"
    assert ts("2026-06-01T06:00:00+00:00") == "20260601080000+0200"


@pytest.mark.parametrize(
    ("kind", "from_state", "to_state", "expected"),
    [
        ("procedure.booked", "requested", "booked", ["SIU^S12", "ORM^O01:SC"]),
        ("procedure.rebooked", "booked", "booked", ["SIU^S13", "ORM^O01:SC"]),
        ("appointment.cancelled", "booked", "requested", ["SIU^S15"]),
        ("procedure.cancelled", "booked", "cancelled", ["SIU^S15", "ORM^O01:CA"]),
        ("procedure.cancelled", "requested", "cancelled", ["ORM^O01:CA"]),
        ("procedure.no-show", "booked", "no-show", ["SIU^S26"]),
        ("procedure.on-hold", "requested", "on-hold", ["ORM^O01:HD"]),
        ("procedure.arrived", "booked", "arrived", []),
        ("procedure.in-progress", "arrived", "in-progress", ["ORM^O01:IP"]),
        ("procedure.completed", "in-progress", "completed", ["ORM^O01:CM"]),
        ("procedure.discontinued", "in-progress", "discontinued", ["ORM^O01:DC"]),
        ("procedure.reported", "completed", "reported", []),
        ("report.preliminary", None, None, ["ORU^R01"]),
        ("report.final", "completed", "reported", ["ORU^R01"]),
        ("report.corrected", "reported", "reported", ["ORU^R01"]),
        ("procedure.images-received", None, None, []),
    ],
)
def test_which_events_send_what(
    kind: str, from_state: str | None, to_state: str | None, expected: list[str]
) -> None:
    found = triggers(kind, from_state, to_state)
    assert [t + (f":{s}" if s else "") for t, _, s in found] == expected


@pytest.mark.parametrize(
    ("message_type", "extra"),
    [
        ("SIU^S12", {"visit": VISIT}),
        ("SIU^S15", {"visit": VISIT, "reason": "Syg"}),
        ("ORM^O01", {"order_status": "SC"}),
        ("ORU^R01", {"report": REPORT}),
    ],
)
def test_rendered_messages_parse_with_the_inbound_parser(
    message_type: str, extra: dict[str, object]
) -> None:
    text = render(42, facts(message_type, **extra), Hl7OutSettings(), DEST)
    parsed = parse(text.encode("utf-8"))
    h = parsed.header
    assert (h.type_code, h.control_id, h.version, h.charset) == (
        message_type,
        "LBO42",
        "2.5.1",
        "UNICODE UTF-8",
    )
    assert (h.sender_app, h.receiver_app) == ("LYSBORD", "EPJ")
    (pid,) = segments(parsed.message, "PID")
    assert (value(pid, 5, 1), value(pid, 5, 2)) == ("Ærø", "Søren Åse")
    assert value(pid, 3, 1) == "0101651234" and value(pid, 3, 5) == "NNDNK"


def test_oru_lines_status_and_escaped_text() -> None:
    parsed = parse(render(7, facts("ORU^R01", report=REPORT), Hl7OutSettings(), DEST).encode())
    obx = segments(parsed.message, "OBX")
    assert [value(o, 5) for o in obx] == ["Linje 1", "", "Linje 3 & mere"]
    assert {value(o, 11) for o in obx} == {"C"}
    assert value(segments(parsed.message, "OBR")[0], 25) == "C"
    orc = segments(parsed.message, "ORC")[0]
    assert (value(orc, 1), value(orc, 2), value(orc, 5)) == ("RE", "EHR-77", "CM")


def test_siu_timing_and_the_order_numbers_v231_has_not() -> None:
    old = Hl7OutSettings(version="2.3.1")
    text = render(8, facts("SIU^S12", visit=VISIT), old, DEST)
    msh = text.split("\r")[0].split("|")
    assert msh[8] == "SIU^S12^SIU_S12" and msh[11] == "2.3.1"
    sch = next(line for line in text.split("\r") if line.startswith("SCH|")).split("|")
    assert sch[11] == "^^M15^20260601080000+0200^20260601081500+0200"
    assert len(sch) == 26 and sch[25] == "Booked"  # SCH-26/27 came in v2.4
    new = render(8, facts("SIU^S12", visit=VISIT), Hl7OutSettings(), DEST)
    assert new.split("\r")[1].split("|")[27] == "LB00000042^LYSBORD"


@pytest.mark.parametrize(
    ("raw", "code", "accepted", "reason"),
    [
        (b"MSH|^~\\&|EHR||||||ACK|1|P|2.5.1\rMSA|AA|LBO1\r", "AA", True, ""),
        (b"MSH|^~\\&|EHR||||||ACK|1|P|2.5.1\nMSA|CA|LBO1\n", "CA", True, ""),
        (
            b"MSH|^~\\&|EHR||||||ACK|1|P|2.5.1\rMSA|AE|LBO1\rERR||PID^3|204|E||||Ukendt patient",
            "AE",
            False,
            "Ukendt patient",
        ),
        (b"MSH#^~\\&#EHR#######ACK#1#P#2.5.1\rMSA#AR#LBO1#nope\r", "AR", False, "nope"),
        (b"MSH|^~\\&|EHR||||||ACK|1|P|2.5.1\rMSA|AA|LBO2\r", "AE", False, "not the control ID"),
        (b"MSH|^~\\&|EHR||||||ACK|1|P|2.5.1\r", "AE", False, "without an MSA"),
        (b"\x00\xffgarbage", "AE", False, "does not start with MSH"),
    ],
)
def test_reading_acknowledgments(raw: bytes, code: str, accepted: bool, reason: str) -> None:
    ack = read_ack(raw, "LBO1")
    assert (ack.code, ack.accepted) == (code, accepted)
    assert reason in ack.text


def _refusal(msh18: str, reason: str, codec: str) -> bytes:
    head = f"MSH|^~\\&|EHR||||||ACK|1|P|2.5.1||||||{msh18}\rMSA|AE|LBO1\r"
    return head.encode("ascii") + f"ERR||PID^3|204|E||||{reason}\r".encode(codec)


@pytest.mark.parametrize(
    ("msh18", "codec", "default_charset", "sent", "read"),
    [
        ("8859/1", "latin-1", "ASCII", "Søren Ærø", "Søren Ærø"),
        ("UNICODE UTF-8", "utf-8", "8859/1", "Søren Ærø", "Søren Ærø"),
        ("ASCII", "ascii", "UNICODE UTF-8", "Soeren", "Soeren"),
        ("", "latin-1", "8859/1", "Søren Ærø", "Søren Ærø"),  # no MSH-18: the default
        ("", "latin-1", "ASCII", "Søren", "S\ufffdren"),  # HL7's default: a bad byte shows
        ("", "utf-8", "ASCII", "Søren", "Søren"),  # undeclared UTF-8, as we send it
        ("8859/1", "utf-8", "ASCII", "Søren", "SÃ¸ren"),  # MSH-18 lies: read as it says
    ],
)
def test_acknowledgments_are_read_in_their_own_character_set(
    msh18: str, codec: str, default_charset: str, sent: str, read: str
) -> None:
    ack = read_ack(_refusal(msh18, sent, codec), "LBO1", default_charset)
    assert (ack.code, ack.control_id, ack.text) == ("AE", "LBO1", read)
