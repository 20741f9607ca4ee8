"""Fuzzing: no bytes make the parser raise anything but Hl7ParseError, and none crash the door."""

from __future__ import annotations

import uuid

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lysbord.hl7.mllp import Deframer
from lysbord.hl7.parse import Hl7ParseError, parse
from lysbord.services.core.context import Context
from lysbord.services.messaging import inbox_queries
from tests.hl7_in.conftest import SAMPLES, MakeDoor, MllpClient, sample, segment

VALUES = {
    "cpr": "0101651234",
    "id": "FUZZ",
    "placer": "P1",
    "accession": "LB00000001",
    "prior": "0202651234",
    "code": "UXCC00",
    "family": "Ærø",
    "end": "20261130",
}
MESSAGES = [sample(p.name, **VALUES) for p in sorted(SAMPLES.glob("*.hl7"))]
SEPARATORS = b"|^~\\&\r\n\x0b\x1c"


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    """A sample with bytes replaced, inserted or cut, separators preferred."""
    raw = bytearray(draw(st.sampled_from(MESSAGES)))
    for _ in range(draw(st.integers(1, 8))):
        at = draw(st.integers(0, len(raw)))
        byte = draw(st.one_of(st.sampled_from(list(SEPARATORS)), st.integers(0, 255)))
        match draw(st.sampled_from(["replace", "insert", "cut"])):
            case "replace" if at < len(raw):
                raw[at] = byte
            case "insert":
                raw.insert(at, byte)
            case _:
                del raw[at:]
    return bytes(raw)


ANY_BYTES = st.one_of(mutated(), st.binary(max_size=300))


@settings(max_examples=800, deadline=None)
@given(ANY_BYTES)
def test_the_parser_only_ever_refuses_with_a_located_reason(raw: bytes) -> None:
    try:
        parsed = parse(raw)
    except Hl7ParseError as exc:
        assert exc.field and exc.reason and exc.code in {100, 101, 102, 103, 203}
    else:
        assert parsed.header.control_id and parsed.header.message_type


@settings(max_examples=500, deadline=None)
@given(st.lists(st.binary(max_size=200), max_size=6))
def test_the_deframer_keeps_every_byte(chunks: list[bytes]) -> None:
    deframer = Deframer(1000)
    out = [p for c in chunks for p in deframer.feed(c)]
    tail = deframer.flush("end")
    kept = b"".join(p.payload for p in [*out, *([tail] if tail else [])])
    assert significant(kept) == significant(b"".join(chunks))


def significant(data: bytes) -> bytes:
    """What must survive framing: all but the frame marks and blanks between frames."""
    return data.translate(None, b" \t\r\n\x0b\x1c")


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(frames=st.lists(ANY_BYTES, min_size=1, max_size=5))
def test_the_door_answers_every_frame_and_keeps_answering(
    ctx: Context, make_hl7_door: MakeDoor, frames: list[bytes]
) -> None:
    door = make_hl7_door()
    client = MllpClient(door.port, timeout=60)
    try:
        for raw in frames:
            clean = raw.replace(b"\x0b", b"").replace(b"\x1c\x0d", b"")
            answer = client.call(clean)
            assert segment(answer, "MSA")[1] in {"AA", "AE", "AR"}
        good = sample("adt_a05.hl7", cpr="0303801234", id=uuid.uuid4().hex)
        assert segment(client.call(good), "MSA")[1] in {"AA", "AE"}
    finally:
        client.close()
        door.stop()
    errors, _ = inbox_queries.list_messages(ctx, inbox_queries.InboxFilter(status="error"))
    assert errors == []
