"""Every answer the HL7 door gives passes hl7apy strict, at the version the sender used.

An answer declares the sender's MSH-12, so it must be valid in that version's
structures: ACK from v2.3, ORR^O02 from v2.3.1, ORG^O20 from v2.4, ORI^O24 from v2.5.
hl7apy is the independent check (tests/hl7_strict.py); the answers are ours.
"""

from __future__ import annotations

import uuid

import pytest

from lysbord.hl7.ack import AnswerPatient, Location, OrderLine, Problem, ack, order_answer
from lysbord.hl7.parse import Header, decode_leniently
from lysbord.services.core.context import Context
from tests.helpers import new_patient, random_cpr
from tests.hl7_in.conftest import MllpClient, sample, segment
from tests.hl7_strict import assert_strict, unexcused

#: The answer to each order type and the first version that has it (table 0354).
ANSWERS = {"ORM": ("O01", "2.3.1"), "OMG": ("O19", "2.4"), "OMI": ("O23", "2.5")}
VERSIONS = ("2.3", "2.3.1", "2.4", "2.5", "2.5.1")
CHARSET = {"2.3": "", "2.3.1": "8859/1", "2.4": "8859/1", "2.5": "UNICODE UTF-8"}
UNKNOWN = Problem(Location("PID", 3), 204, "PID-3: no patient | with this number", "NotFound")
PATIENT = AnswerPatient("0101651234", "Ærø", "Søren")


def cid() -> str:
    return uuid.uuid4().hex[:16]


def header(version: str, kind: str = "ADT", trigger: str = "A08") -> Header:
    charset = CHARSET.get(version, "UNICODE UTF-8")
    return Header(
        sender_app="EPJ",
        sender_facility="RH",
        message_type=kind,
        trigger=trigger,
        control_id=cid(),
        version=version,
        charset=charset,
    )


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize(("code", "problem"), [("AA", None), ("AE", UNKNOWN), ("AR", UNKNOWN)])
def test_acks_pass(version: str, code: str, problem: Problem | None) -> None:
    assert_strict(ack(header(version), code, problem))


def test_an_ack_to_v23_has_no_message_structure() -> None:
    """MSH-9 in v2.3 is type^trigger (CM_MSG): a third component would be refused."""
    assert ack(header("2.3"), "AA").split("|")[8] == "ACK^A08"
    assert ack(header("2.3.1"), "AA").split("|")[8] == "ACK^A08^ACK"


def _order_cases() -> list[tuple[str, str]]:
    return [(kind, v) for kind, (_, first) in ANSWERS.items() for v in VERSIONS if v >= first]


@pytest.mark.parametrize(("kind", "version"), _order_cases())
def test_order_answers_pass(kind: str, version: str) -> None:
    h = header(version, kind, ANSWERS[kind][0])
    done = OrderLine("OK", "P1", "LB00000001", "SC", "UXCC00", "CT af thorax", "2.25.7", "CT")
    assert_strict(order_answer(h, "AA", [done], patient=PATIENT))
    refused = OrderLine("UA", "P1", "", "", "NOPE1", "Ukendt")
    answer = order_answer(h, "AE", [refused], UNKNOWN, patient=PATIENT)
    assert_strict(answer)
    orc = [s for s in answer.split("\r") if s.startswith("ORC")]
    assert orc == ([] if kind == "OMI" else ["ORC|UA|P1"])  # ORI^O24 needs an IPC


def _text(answer: bytes) -> str:
    """The answer in the character set its MSH-18 names (the sender's)."""
    return decode_leniently(answer)


def test_every_sample_is_answered_by_a_message_hl7apy_accepts(
    ctx: Context, client: MllpClient
) -> None:
    cpr, prior = new_patient(ctx), new_patient(ctx)
    placer = cid()
    placed = client.call(sample("orm_o01_nw.hl7", cpr=cpr, id=cid(), placer=placer))
    first, second = (s.split("|")[3].split("^")[0] for s in _orcs(placed))
    order = {"cpr": cpr, "placer": placer, "accession": first}
    sent = [
        ("adt_a01.hl7", {"cpr": random_cpr()}),
        ("adt_a04_latin1.hl7", {"cpr": random_cpr()}),
        ("adt_a05.hl7", {"cpr": random_cpr()}),
        ("adt_a08.hl7", {"cpr": cpr, "family": "Ærøbo"}),
        ("adt_a31.hl7", {"cpr": random_cpr()}),
        ("adt_a40.hl7", {"cpr": cpr, "prior": prior}),
        ("adt_a47.hl7", {"cpr": random_cpr(), "prior": cpr}),
        ("omg_o19_nw.hl7", {"cpr": cpr, "placer": cid()}),
        ("omi_o23_nw.hl7", {"cpr": cpr, "placer": cid(), "end": "20261130"}),
        ("orm_o01_hd.hl7", order),
        ("orm_o01_rl.hl7", order),
        ("orm_o01_xo.hl7", order | {"code": "UXMA00"}),
        ("orm_o01_dc.hl7", order),
        ("orm_o01_ca.hl7", order | {"accession": second}),
    ]
    answers = [placed] + [client.call(sample(name, id=cid(), **v)) for name, v in sent]
    assert [segment(a, "MSA")[1] for a in answers] == ["AA"] * len(answers)
    for answer in answers:
        assert_strict(_text(answer))


def test_refusals_pass_too(ctx: Context, client: MllpClient) -> None:
    """AE for an order of a patient never seen (v2.3.1, ERR-1), for an unknown code
    (v2.5.1, ERR-2..8), AR for an unsupported version (answered in that version)."""
    unknown = client.call(sample("orm_o01_nw.hl7", cpr=random_cpr(), id=cid(), placer=cid()))
    omg = sample("omg_o19_nw.hl7", cpr=new_patient(ctx), id=cid(), placer=cid())
    bad_code = client.call(omg.replace(b"UXUD00", b"NOPE1"))
    v26 = client.call(
        sample("adt_a01.hl7", cpr=random_cpr(), id=cid()).replace(b"|2.5.1|", b"|2.6|")
    )
    assert [segment(a, "MSA")[1] for a in (unknown, bad_code, v26)] == ["AE", "AE", "AR"]
    for answer in (unknown, bad_code, v26):
        assert_strict(_text(answer))


def test_bytes_that_are_no_message_get_an_ar_without_msa2(client: MllpClient) -> None:
    """The one answer that misses a required field, on purpose: MSA-2 repeats the control
    ID of the message answered, and bytes without a readable MSH-10 have none. Any value
    put there would acknowledge a message nobody sent."""
    answer = _text(client.call(b"not HL7 at all"))
    assert answer.split("|")[8] == "ACK^^ACK"  # the trigger is unknown, the structure is not
    assert unexcused(answer) == ["Missing required child MSA.MSA_2"]


def _orcs(answer: bytes) -> list[str]:
    return [s for s in answer.decode("latin-1").split("\r") if s.startswith("ORC")]
