"""Writing HL7 v2 text (ER7): escapes, times, segments, MSH and the data types we fill.

Every message we send (answers and outbound alike) is written with these, so that two
builders can never disagree on how a name, a number or a time looks. Pure: values in,
text out. The version a message declares (MSH-12) decides a few things, asked through
``since``: MSH-9 has a third component, the message structure, from v2.3.1; ERR's
fields changed in v2.5; SCH-26/27 exist from v2.4.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from lysbord.domain.calendar import COPENHAGEN

SEP, ENC = "|", "^~\\&"
CPR_AUTHORITY = "CPR&1.2.208.176.1.2&ISO"  # the Danish CPR register's OID
_ESCAPES = str.maketrans({"|": "\\F\\", "^": "\\S\\", "&": "\\T\\", "~": "\\R\\"})
_CONTROL = {c: " " for c in range(0x20) if c != 0x09} | {0x7F: " "}


def esc(value: object) -> str:
    """A value as HL7 text (§2.7.4): delimiters escaped, line breaks and controls spaces."""
    text = "" if value is None else str(value)
    return text.replace("\\", "\\E\\").translate(_ESCAPES).translate(_CONTROL)


def cut(text: str, most: int) -> str:
    """Escaped text at most ``most`` characters long, never ending inside an escape."""
    out = text[:most]
    return out[: out.rindex("\\")] if out.count("\\") % 2 else out


def ts(at: datetime | str) -> str:
    """HL7 DTM in Copenhagen local time with its offset: ``20261123080000+0100``."""
    moment = datetime.fromisoformat(at) if isinstance(at, str) else at
    return moment.astimezone(COPENHAGEN).strftime("%Y%m%d%H%M%S%z")


def since(version: str, first: str) -> bool:
    """Whether ``version`` (MSH-12) is ``first`` or later: ``since("2.5.1", "2.5")``."""
    return _parts(version) >= _parts(first)


def _parts(version: str) -> tuple[int, ...]:
    return tuple(int(p) for p in version.split(".") if p.isdigit())


def segment(name: str, *fields: str) -> str:
    """A segment from its fields in order; empty fields at the end are left off."""
    return SEP.join([name, *fields]).rstrip(SEP)


def at(name: str, values: dict[int, str]) -> str:
    """A segment from {field number: value}; the fields between stay empty."""
    return segment(name, *(values.get(n, "") for n in range(1, max(values) + 1)))


def join(segments: Sequence[str]) -> str:
    """The message: segments ended by CR (no MLLP framing)."""
    return "\r".join(segments) + "\r"


def message_type(code: str, trigger: str, structure: str, version: str) -> str:
    """MSH-9 (MSG): the structure as third component from v2.3.1, which has it; an
    unknown trigger (an answer to bytes that named none) stays an empty component."""
    if since(version, "2.3.1"):
        return f"{code}^{trigger}^{structure}"
    return f"{code}^{trigger}" if trigger else code


def msh(
    sender: tuple[str, str],
    receiver: tuple[str, str],
    when: datetime | str,
    kind: str,
    control_id: str,
    version: str,
    charset: str,
    processing_id: str = "P",
    country: str = "",
) -> str:
    """MSH: MSH-3/4 sender, 5/6 receiver, 7 time, 9 type, 10 id, 11, 12, 17 country, 18."""
    values = {3: sender[0], 4: sender[1], 5: receiver[0], 6: receiver[1], 11: processing_id}
    values |= {12: version, 17: country, 18: charset}
    fields = {n: esc(v) for n, v in values.items()} | {7: ts(when), 9: kind, 10: esc(control_id)}
    return segment("MSH", ENC, *(fields.get(n, "") for n in range(3, 19)))


def cx(number: str, issuer: str) -> str:
    """A patient identifier (CX): the CPR number with the register's OID and type NNDNK."""
    if issuer == "CPR":
        return f"{esc(number)}^^^{CPR_AUTHORITY}^NNDNK"
    return f"{esc(number)}^^^{esc(issuer)}^PI"


def xpn(family: str, given: str) -> str:
    """A person's name (XPN): family^given."""
    return f"{esc(family)}^{esc(given)}"


def xcn(ident: str, family: str, given: str, authority: str) -> str:
    """A person (XCN): id^family^given, the id's assigning authority in XCN-9."""
    return f"{esc(ident)}^{esc(family)}^{esc(given)}^^^^^^{esc(authority)}"


def split_name(name: str) -> tuple[str, str]:
    """(family, given) of a name written whole ("Bente Sekretær"): the last word is the
    family name (efternavn), the words before it the given and middle names."""
    given, _, family = name.strip().rpartition(" ")
    return family, given


def xtn(phone: str) -> str:
    """A work telephone (XTN, use WPN table 0201, type PH table 0202) from ``+45 35451234``
    (as sites store it): XTN-1 in the TN form of v2.3.1/v2.4 (``45 35451234``: country,
    number; v2.5 keeps it for compatibility), XTN-5 the country code, XTN-7 the number."""
    country, _, number = phone.removeprefix("+").partition(" ")
    if not (country.isdigit() and number.isdigit()):
        return ""
    tn = f"{country} {number}" if len(country) == 2 else number  # TN's [NN] is two digits
    return f"{tn}^WPN^PH^^{country}^^{number}"


def ipc(accession: str, study_uid: str, modality: str) -> str:
    """IPC (v2.5, IHE RAD TF-2): IPC-1 accession, -2 requested procedure, -3 Study
    Instance UID, -4 scheduled step, -5 modality. One step per requested procedure, both
    named by the accession, as in the worklist."""
    acc = esc(accession)
    return segment("IPC", acc, acc, esc(study_uid), acc, esc(modality))
