"""Settings of the inbound HL7 door (``[hl7]`` in the TOML file).

The order mapping (docs: README "HL7 v2"): the priority code is read from TQ1-9
(v2.5), else ORC-7.6, else OBR-27.6 (the TQ data type's priority component) and
looked up in ``priorities``; no code gives ``default_priority``. The quantity/timing
start (TQ1-7, else ORC-7.4, else OBR-27.4) is the requested date of a follow-up; the
end (TQ1-8, else ORC-7.5, else OBR-27.5) shortens a cancer-pathway deadline
(protocol days), never lengthens it.
"""

from __future__ import annotations

from pydantic import BaseModel, Field

from lysbord.domain.priorities import Priority

#: HL7 table 0211 names and the Python codecs that read them.
CHARSETS = {
    "ASCII": "ascii",
    "8859/1": "latin-1",
    "8859/2": "iso8859-2",
    "8859/4": "iso8859-4",
    "8859/5": "iso8859-5",
    "8859/7": "iso8859-7",
    "8859/9": "iso8859-9",
    "8859/15": "iso8859-15",
    "UNICODE UTF-8": "utf-8",
}

#: HL7 table 0027 priorities (S stat, A ASAP, R routine, P pre-op, C callback,
#: T timing critical) and two local codes: PF pakkeforløb, FU a planned control.
DEFAULT_PRIORITIES = {
    "S": Priority.ACUTE,
    "A": Priority.URGENT,
    "R": Priority.ROUTINE,
    "P": Priority.URGENT,
    "C": Priority.URGENT,
    "T": Priority.URGENT,
    "PF": Priority.CANCER_PATHWAY,
    "FU": Priority.FOLLOW_UP,
}


class Hl7InSettings(BaseModel):
    """How the MLLP door listens and maps what it receives."""

    model_config = {"extra": "forbid"}

    host: str = Field("127.0.0.1", min_length=1, description="address the MLLP door listens on")
    workers: int = Field(8, ge=1, le=64, description="threads applying messages at once")
    frame_timeout_seconds: float = Field(
        30.0, gt=0, le=3600, description="a frame not ended this long after its first byte is cut"
    )
    idle_timeout_seconds: float = Field(
        300.0, gt=0, le=24 * 3600, description="a connection silent this long is closed"
    )
    max_frame_bytes: int = Field(4_000_000, ge=1024, description="larger frames are refused")
    default_charset: str = Field(
        "ASCII",
        description="character set when MSH-18 is empty (HL7 says ASCII), in the messages"
        " received and in the ACKs of the messages sent",
    )
    application: str = Field("LYSBORD", min_length=1, description="our MSH-3 in answers")
    facility: str = Field("RADIOLOGY", min_length=1, description="our MSH-4 in answers")
    priorities: dict[str, Priority] = Field(
        default_factory=lambda: dict(DEFAULT_PRIORITIES),
        description="order priority code (TQ1-9 / ORC-7.6 / OBR-27.6) to referral priority",
    )
    default_priority: Priority = Priority.ROUTINE
    referring_unit_default: str = Field(
        "unknown unit", min_length=1, description="when ORC-17 and ORC-13 are empty"
    )
