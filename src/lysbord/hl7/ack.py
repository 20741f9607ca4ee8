"""The answers: ACK, and ORR^O02 / ORI^O24 / ORG^O20 for orders (HL7 v2.5.1 §2.9, §4.4).

MSA-1 is AA (applied and committed), AE (understood, but its content cannot be
applied) or AR (not understood or not supported). ERR names where and why: ERR-1
(segment^sequence^field^code, v2.3/2.4) for older senders, ERR-2/3/4/8 from v2.5.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from lysbord.hl7.parse import Header

SEP, ENC = "|", "^~\\&"
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
    code: str = ""
    study_uid: str = ""
    modality: str = ""


def esc(text: str) -> str:
    """HL7 escape sequences (§2.7.4) so that a reason can never break the answer apart."""
    out = text.replace("\\", "\\E\\").replace("|", "\\F\\").replace("^", "\\S\\")
    out = out.replace("&", "\\T\\").replace("~", "\\R\\")
    return " ".join(out.split())


def ack(
    header: Header,
    code: str,
    problem: Problem | None = None,
    text: str = "",
    us: tuple[str, str] = US,
) -> str:
    """A general acknowledgment (ACK^<trigger>^ACK)."""
    kind = f"ACK^{header.trigger}^ACK" if header.trigger else "ACK"
    return _join([_msh(header, kind, us), *_msa_err(header, code, problem, text)])


def order_answer(
    header: Header,
    code: str,
    lines: Sequence[OrderLine],
    problem: Problem | None = None,
    pid: str = "",
    us: tuple[str, str] = US,
) -> str:
    """ORR^O02, ORI^O24 or ORG^O20 with one ORC (and OBR, IPC for imaging) per order."""
    kind, trigger = ORDER_ANSWERS.get(header.message_type, ("ORR", "O02"))
    segments = [_msh(header, f"{kind}^{trigger}^{kind}_{trigger}", us)]
    segments += _msa_err(header, code, problem, "")
    if lines and pid:
        segments.append(f"PID|1||{esc(pid)}^^^CPR")
    for n, line in enumerate(lines, start=1):
        segments += _order_segments(kind, n, line)
    return _join(segments)


def _order_segments(kind: str, n: int, line: OrderLine) -> list[str]:
    filler = f"{esc(line.filler)}^LYSBORD" if line.filler else ""
    placer = esc(line.placer)
    orc = f"ORC|{line.control}|{placer}|{filler}||{line.status}"
    if not line.filler:
        return [orc]
    obr = f"OBR|{n}|{placer}|{filler}|{esc(line.code)}" + "|" * 14 + esc(line.filler)
    out = [orc, obr]
    if kind == "ORI":  # IPC-1 accession, -2 requested procedure, -3 study UID, -4 step, -5 modality
        out.append(
            f"IPC|{esc(line.filler)}|{esc(line.filler)}|{esc(line.study_uid)}"
            f"|{esc(line.filler)}|{esc(line.modality)}"
        )
    return out


def _msh(header: Header, kind: str, us: tuple[str, str]) -> str:
    now = datetime.now(UTC).strftime("%Y%m%d%H%M%S+0000")
    fields = [
        "MSH",
        ENC,
        esc(us[0]),
        esc(us[1]),
        esc(header.sender_app),
        esc(header.sender_facility),
        now,
        "",
        kind,
        uuid.uuid4().hex[:20],
        esc(header.processing_id) or "P",
        esc(header.version) or "2.5.1",
        "",
        "",
        "",
        "",
        "",
        esc(header.charset),
    ]
    return SEP.join(fields).rstrip(SEP)


def _msa_err(header: Header, code: str, problem: Problem | None, text: str) -> list[str]:
    message = esc(problem.reason if problem else text)[:80] if code != "AA" else ""
    msa = f"MSA|{code}|{esc(header.control_id)}|{message}".rstrip("|")
    return [msa] if problem is None else [msa, _err(header, problem)]


def _err(header: Header, problem: Problem) -> str:
    loc, code = problem.location, problem.code
    cwe = f"{code}^{CODE_TEXT.get(code, '')}^HL70357"
    field_no = str(loc.field) if loc.field else ""
    if header.version in ("2.3", "2.3.1", "2.4"):
        return f"ERR|{loc.segment}^{loc.seq}^{field_no}^{cwe.replace('^', '&')}"
    app = esc(problem.app_code)
    return f"ERR||{loc.segment}^{loc.seq}^{field_no}|{cwe}|E|{app}|||{esc(problem.reason)}"


def _join(segments: Sequence[str]) -> str:
    return "\r".join(segments) + "\r"
