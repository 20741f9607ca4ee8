"""The codecs without sockets: framing, reading MSH, and the answers' escaping and ERR."""

from __future__ import annotations

import pytest

from lysbord.hl7.ack import Location, Problem, ack
from lysbord.hl7.er7 import esc
from lysbord.hl7.mllp import Broken, Deframer, Frame, wrap
from lysbord.hl7.parse import Hl7ParseError, header_of, parse


def test_frames_split_across_reads_and_two_in_one_read() -> None:
    d = Deframer(1000)
    data = wrap(b"MSH|one") + wrap(b"MSH|two")
    assert d.feed(data[:5]) == []
    assert d.feed(data[5:]) == [Frame(b"MSH|one"), Frame(b"MSH|two")]
    assert not d.pending


def test_a_new_start_block_cuts_the_frame_before_it() -> None:
    d = Deframer(1000)
    pieces = d.feed(b"\x0bMSH|cut\x0bMSH|whole\x1c\x0d")
    assert isinstance(pieces[0], Broken) and pieces[0].payload == b"MSH|cut"
    assert pieces[1] == Frame(b"MSH|whole")


def test_oversized_frames_are_refused_not_buffered_for_ever() -> None:
    d = Deframer(1024)
    pieces = d.feed(b"\x0b" + b"x" * 2000)
    assert isinstance(pieces[0], Broken) and "larger than 1024" in pieces[0].reason


def test_separators_come_from_msh() -> None:
    raw = b"MSH#*!/$#EPJ#RH#LYS#RAD#20261123##ADT*A08#42#P#2.4\rPID#1##0101651234**/CPR\r"
    parsed = parse(raw)
    assert (parsed.header.field_sep, parsed.header.type_code) == ("#", "ADT^A08")
    assert parsed.header.control_id == "42"


def test_unknown_character_set_is_named() -> None:
    raw = b"MSH|^~\\&|EPJ|RH|||20261123||ADT^A08|7|P|2.5|||||DK|KLINGON\r"
    with pytest.raises(Hl7ParseError) as caught:
        parse(raw)
    assert caught.value.field == "MSH-18" and caught.value.header.control_id == "7"
    assert header_of(b"junk").control_id == ""


def test_answers_escape_what_would_break_them_and_err_follows_the_version() -> None:
    assert esc("a|b^c&d~e\\f") == "a\\F\\b\\S\\c\\T\\d\\R\\e\\E\\f"
    h25 = parse(b"MSH|^~\\&|EPJ|RH|||20261123||ADT^A08|7|P|2.5\r").header
    h23 = parse(b"MSH|^~\\&|EPJ|RH|||20261123||ADT^A08|7|P|2.3\r").header
    problem = Problem(Location("PID", 3), 204, "no patient | here", "UnknownPatient")
    err25 = [s for s in ack(h25, "AE", problem).split("\r") if s.startswith("ERR")][0]
    err23 = [s for s in ack(h23, "AE", problem).split("\r") if s.startswith("ERR")][0]
    assert err25 == (
        "ERR||PID^1^3|204^Unknown key identifier^HL70357|E|UnknownPatient|||no patient \\F\\ here"
    )
    assert err23 == "ERR|PID^1^3^204&Unknown key identifier&HL70357"


def test_empty_lines_between_segments_are_no_segments() -> None:
    raw = b"MSH|^~\\&|PAS|RH|||20261123||ADT^A40|7|P|2.5\r\rPID|1||0101651234^^^CPR\r\n\r\nMRG|1\r"
    assert [str(seg[0]) for seg in parse(raw).message] == ["MSH", "PID", "MRG"]
