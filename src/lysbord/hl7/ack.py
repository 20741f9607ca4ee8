"""The answers: ACK, and ORR^O02 / ORI^O24 / ORG^O20 for orders (HL7 v2.5.1 §2.9, §4.4).

MSA-1 is AA (applied and committed), AE (understood, but its content cannot be
applied) or AR (not understood or not supported). ERR names where and why: ERR-1
(segment^sequence^field^code, v2.3/2.4) for older senders, ERR-2/3/4/8 from v2.5.
An answer declares the sender's version (MSH-12) and character set (MSH-18) and is
written to that version's structures (``hl7.er7``: MSH-9 has no structure in v2.3).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from lysbord.hl7.er7 import at, cut, cx, esc, ipc, join, message_type, msh, segment, since, xpn
from lysbord.hl7.parse import Header

US = ("LYSBORD", "RADIOLOGY")  # our MSH-3 and MSH-4 unless the settings say otherwise
CODE_TEXT = {
    100: "Segment sequence error",
    101: "Required field missing",
    102: "Data type error",
    103: "Table value not found",
    200: "Unsupported message type",
    201: "Unsupported event code",
    203: "Unsupported version id",
    204: "Unknown key identifier",
    205: "Duplicate key identifier",
    206: "Application record locked",
    207: "Application internal error",
}
#: The answer to each order message type (v2.5.1 §4.4.1, §4.4.2, §4.4.11).
ORDER_ANSWERS = {"ORM": ("ORR", "O02"), "OMI": ("ORI", "O24"), "OMG": ("ORG", "O20")}


@dataclass(frozen=True, slots=True)
class Location:
    """Where in the message: segment, its occurrence (1-based) and field."""

    segment: str
    field: int = 0
    seq: int = 1

    def __str__(self) -> str:
        occurrence = f"[{self.seq}]" if self.seq > 1 else ""
        return f"{self.segment}{occurrence}-{self.field}" if self.field else self.segment


@dataclass(frozen=True, slots=True)
class Problem:
    """One reason to refuse, for ERR and the inbox."""

    location: Location
    code: int
    reason: str
    app_code: str = ""


@dataclass(frozen=True, slots=True)
class OrderLine:
    """One order as the answer reports it: the placer's number and ours."""

    control: str  # ORC-1 of the answer: OK, CR, XR, DR, HR, OR, or UA, UC, ...
    placer: str
    filler: str = ""
    status: str = ""  # ORC-5, table 0038
    code: str = ""  # OBR-4: ours, or the placer's as sent when the order was refused
    code_name: str = ""
    study_uid: str = ""
    modality: str = ""


@dataclass(frozen=True, slots=True)
class AnswerPatient:
    """PID of an order answer: the CPR number and the name as the order gave it."""

    cpr: str
    family_name: str
    given_name: str


def ack(
    header: Header,
    code: str,
    problem: Problem | None = None,
    text: str = "",
    us: tuple[str, str] = US,
) -> str:
    """A general acknowledgment (ACK^<trigger>^ACK)."""
    kind = message_type("ACK", header.trigger, "ACK", _version(header))
    return join([_msh(header, kind, us), *_msa_err(header, code, problem, text)])


def order_answer(
    header: Header,
    code: str,
    lines: Sequence[OrderLine],
    problem: Problem | None = None,
    patient: AnswerPatient | None = None,
    us: tuple[str, str] = US,
) -> str:
    """ORR^O02, ORI^O24 or ORG^O20 with ORC, OBR (and IPC for imaging) per order.

    An order goes in only with the segments its answer's structure requires (v2.5):
    ORR's OBR needs OBR-4, ORI's IPC our accession and Study Instance UID. A refused
    new order has no accession, so ORI^O24 reports a refusal in MSA and ERR alone. PID
    repeats the order's patient, and is left out when the order named no name."""
    kind, trigger = ORDER_ANSWERS.get(header.message_type, ("ORR", "O02"))
    version = _version(header)
    segments = [_msh(header, message_type(kind, trigger, f"{kind}_{trigger}", version), us)]
    segments += _msa_err(header, code, problem, "")
    shown = [line for line in lines if _complete(kind, line)]
    if shown and patient is not None and patient.family_name:  # PID-5 is required
        name = xpn(patient.family_name, patient.given_name)
        segments.append(segment("PID", "1", "", cx(patient.cpr, "CPR"), "", name))
    for n, line in enumerate(shown, start=1):
        segments += _order_segments(kind, n, line)
    return join(segments)


def _complete(kind: str, line: OrderLine) -> bool:
    if kind == "ORI":
        return bool(line.code and line.filler and line.study_uid)
    return bool(line.code) or kind == "ORG"


def _order_segments(kind: str, n: int, line: OrderLine) -> list[str]:
    filler = f"{esc(line.filler)}^LYSBORD" if line.filler else ""
    placer = esc(line.placer)
    out = [segment("ORC", line.control, placer, filler, "", line.status)]
    if line.code:
        values = {1: str(n), 2: placer, 3: filler, 4: f"{esc(line.code)}^{esc(line.code_name)}^L"}
        out.append(at("OBR", values | {18: esc(line.filler)}))
    if kind == "ORI":
        out.append(ipc(line.filler, line.study_uid, line.modality))
    return out


def _version(header: Header) -> str:
    return header.version or "2.5.1"


def _msh(header: Header, kind: str, us: tuple[str, str]) -> str:
    return msh(
        us,
        (header.sender_app, header.sender_facility),
        datetime.now(UTC),
        kind,
        uuid.uuid4().hex[:20],
        _version(header),
        header.charset,
        header.processing_id or "P",
    )


def _msa_err(header: Header, code: str, problem: Problem | None, text: str) -> list[str]:
    message = cut(esc(problem.reason if problem else text), 80) if code != "AA" else ""
    msa = segment("MSA", code, esc(header.control_id), message)
    return [msa] if problem is None else [msa, _err(header, problem)]


def _err(header: Header, problem: Problem) -> str:
    """ERR-1 (segment^sequence^field^code) before v2.5; ERR-2 location, ERR-3 the code,
    ERR-4 severity, ERR-5 our reason's name, ERR-8 the reason from v2.5."""
    loc, code = problem.location, problem.code
    cwe = f"{code}^{CODE_TEXT.get(code, '')}^HL70357"
    field_no = str(loc.field) if loc.field else ""
    where = f"{loc.segment}^{loc.seq}^{field_no}"
    if not since(_version(header), "2.5"):
        return segment("ERR", f"{where}^{cwe.replace('^', '&')}")
    reason = esc(problem.reason)
    return segment("ERR", "", where, cwe, "E", esc(problem.app_code), "", "", reason)
