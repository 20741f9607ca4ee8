"""Bytes to an HL7 v2 message: separators from MSH, characters per MSH-18 (pure, no sockets).

HL7 v2.5.1 §2.5.1 / §2.14.9: MSH-1 is the field separator (the 4th character) and
MSH-2 the component, repetition, escape and subcomponent characters; MSH-18 (table
0211) names the character set, ASCII when empty. Every refusal is an
``Hl7ParseError`` naming the field (``MSH-18``), its HL7 error code (table 0357)
and the reason, with as much of the header as could be read, so that the answer
can still quote MSH-10.
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass

import hl7

from lysbord.config.hl7 import CHARSETS
from lysbord.domain.errors import Msg, ProtocolError

VERSIONS = frozenset({"2.3", "2.3.1", "2.4", "2.5", "2.5.1"})

# HL7 table 0357 (message error condition codes).
SEGMENT_SEQUENCE = 100
#: MSH-10 is ST of 199 characters in v2.5.1 (20 in v2.3-2.5): longer ones are refused.
CONTROL_ID_MAX = 199

REQUIRED_FIELD = 101
DATA_TYPE = 102
TABLE_VALUE = 103
UNSUPPORTED_TYPE = 200
UNSUPPORTED_EVENT = 201
UNSUPPORTED_VERSION = 203
UNKNOWN_KEY = 204
DUPLICATE_KEY = 205
INTERNAL = 207


@dataclass(frozen=True, slots=True)
class Header:
    """What MSH says about a message, as far as it could be read."""

    field_sep: str = "|"
    encoding: str = "^~\\&"
    sender_app: str = ""
    sender_facility: str = ""
    receiver_app: str = ""
    receiver_facility: str = ""
    message_type: str = ""
    trigger: str = ""
    control_id: str = ""  # at most CONTROL_ID_MAX characters: what fits its column
    control_id_cut: bool = False  # MSH-10 was longer, so the message is refused
    processing_id: str = "P"
    version: str = ""
    charset: str = ""

    @property
    def type_code(self) -> str:
        return f"{self.message_type}^{self.trigger}" if self.trigger else self.message_type


class Hl7ParseError(ProtocolError):
    """The message could not be read; ``field`` is where (``MSH-2``), ``code`` table 0357."""

    def __init__(self, msg: Msg, *, field: str, code: int, header: Header | None = None):
        super().__init__(msg, field=field)
        self.code = code
        self.header = header or Header()


@dataclass(frozen=True, slots=True)
class Parsed:
    header: Header
    message: hl7.Message
    codec: str


def parse(raw: bytes, default_charset: str = "ASCII") -> Parsed:
    """Read one message; refuse it with the field and reason when it cannot be read."""
    loose = _header(_msh_text(raw.lstrip(b"\r\n").decode("latin-1")))
    charset = loose.charset or default_charset
    codec = CHARSETS.get(charset.upper())
    if codec is None:
        raise Hl7ParseError(
            Msg(
                "character set {charset!r} is not supported (one of {known})",
                charset=charset,
                known=", ".join(CHARSETS),
            ),
            field="MSH-18",
            code=TABLE_VALUE,
            header=loose,
        )
    try:
        text = raw.decode(codec)
    except UnicodeDecodeError as exc:
        raise Hl7ParseError(
            Msg(
                "byte 0x{byte} at offset {offset} is not {charset}"
                " (the message is in another character set than MSH-18 says)",
                byte=f"{raw[exc.start]:02X}",
                offset=exc.start,
                charset=charset,
            ),
            field="MSH-18",
            code=DATA_TYPE,
            header=loose,
        ) from None
    text = _segments_text(text.lstrip("\r\n"))
    if "\x00" in text:
        raise Hl7ParseError(
            Msg("a NUL character, which HL7 text may not hold"),
            field=_where(text, text.index("\x00")),
            code=DATA_TYPE,
            header=loose,
        )
    header = _checked(_header(_msh_text(text)))
    return Parsed(header, hl7.parse(text), codecs.lookup(codec).name)


def _where(text: str, offset: int) -> str:
    """``SEG-n`` of the character at ``offset`` (MSH counts its separator as MSH-1)."""
    start = text.rfind("\r", 0, offset) + 1
    segment, sep = text[start : start + 3], text[3:4] or "|"
    n = text.count(sep, start, offset)
    return f"{segment}-{n + 1 if segment == 'MSH' else n}"


def header_of(raw: bytes) -> Header:
    """As much of the header as can be read, for answering a broken frame; never raises."""
    try:
        return _header(_msh_text(raw.decode("latin-1")))
    except Hl7ParseError:
        return Header()


def encode_for(header: Header, text: str, default_charset: str = "ASCII") -> bytes:
    """The answer in the sender's character set; what it cannot carry becomes '?'."""
    return text.encode(_codec_of(header, default_charset), errors="replace")


def decode_leniently(raw: bytes, default_charset: str = "ASCII") -> str:
    """The text of a message that is read but never refused (an acknowledgment to us).

    Its own MSH-18 says the character set, as for every message we receive (empty:
    ``default_charset``). Bytes that do not fit it are read as UTF-8 if they are that
    (receivers that answer in UTF-8 without saying so, as we send), else each such byte
    becomes U+FFFD: an ACK whose reason cannot be read is still an ACK.
    """
    codec = _codec_of(header_of(raw), default_charset)
    for attempt in (codec, "utf-8"):
        try:
            return raw.decode(attempt)
        except UnicodeDecodeError:
            continue
    return raw.decode(codec, errors="replace")


def _codec_of(header: Header, default_charset: str) -> str:
    """The codec for MSH-18, or for ``default_charset`` when it is empty; ASCII (HL7's own
    default) when the name is none we know."""
    return CHARSETS.get((header.charset or default_charset).upper(), "ascii")


def _segments_text(text: str) -> str:
    """Segments end in CR (§2.5.2); senders writing files often use LF or CRLF, so accept them.
    An empty line is no segment (the hl7 library would fail on it), so it is dropped."""
    lines = text.replace("\r\n", "\r").replace("\n", "\r").split("\r")
    return "\r".join(line for line in lines if line) + "\r"


def _msh_text(text: str) -> str:
    """The MSH segment, checked for the separators every other rule depends on."""
    if not text.startswith("MSH"):
        start = text[:20].encode("unicode_escape").decode("ascii")
        raise Hl7ParseError(
            Msg(
                "the message does not start with an MSH segment (it starts {start!r})", start=start
            ),
            field="MSH",
            code=SEGMENT_SEQUENCE,
        )
    msh = text.replace("\n", "\r").split("\r", 1)[0]
    if len(msh) < 8:
        raise Hl7ParseError(
            Msg("MSH is too short to hold its separators"), field="MSH-2", code=REQUIRED_FIELD
        )
    sep, enc = msh[3], msh[4:].split(msh[3], 1)[0]
    if sep.isalnum() or sep.isspace():
        raise Hl7ParseError(
            Msg("field separator {sep!r} must not be a letter, digit or space", sep=sep),
            field="MSH-1",
            code=DATA_TYPE,
        )
    if len(enc) not in (4, 5) or len(set(enc + sep)) != len(enc) + 1 or _bad_chars(enc):
        raise Hl7ParseError(
            Msg(
                "encoding characters {enc!r} must be 4 distinct non-alphanumeric characters"
                " other than the field separator {sep!r}",
                enc=enc,
                sep=sep,
            ),
            field="MSH-2",
            code=DATA_TYPE,
        )
    return msh


def _bad_chars(enc: str) -> bool:
    return any(c.isalnum() or c.isspace() for c in enc)


def _header(msh: str) -> Header:
    sep, enc = msh[3], msh[4:].split(msh[3], 1)[0]
    fields = msh.split(sep)  # fields[n - 1] is MSH-n (MSH-1 is the separator itself)
    comp = enc[0]

    def f(n: int) -> str:
        return fields[n - 1] if n - 1 < len(fields) else ""

    kind = f(9).split(comp)
    return Header(
        field_sep=sep,
        encoding=enc,
        sender_app=f(3).split(comp)[0][:180],
        sender_facility=f(4).split(comp)[0][:180],
        receiver_app=f(5).split(comp)[0],
        receiver_facility=f(6).split(comp)[0],
        message_type=kind[0][:3],
        trigger=kind[1][:3] if len(kind) > 1 else "",
        control_id=f(10)[:CONTROL_ID_MAX],
        control_id_cut=len(f(10)) > CONTROL_ID_MAX,
        processing_id=f(11).split(comp)[0] or "P",
        version=f(12).split(comp)[0][:8],
        charset=f(18).split(enc[1])[0].strip(),
    )


def _checked(header: Header) -> Header:
    """The MSH fields without which no answer can be matched to its message."""
    if not header.message_type:
        raise Hl7ParseError(
            Msg("the message type is empty"), field="MSH-9", code=REQUIRED_FIELD, header=header
        )
    if not header.control_id:
        raise Hl7ParseError(
            Msg("the message control ID is empty"),
            field="MSH-10",
            code=REQUIRED_FIELD,
            header=header,
        )
    if header.control_id_cut:
        raise Hl7ParseError(
            Msg("the message control ID is longer than {n} characters", n=CONTROL_ID_MAX),
            field="MSH-10",
            code=DATA_TYPE,
            header=header,
        )
    if header.version not in VERSIONS:
        raise Hl7ParseError(
            Msg("version {version!r} is not supported (2.3 to 2.5.1)", version=header.version),
            field="MSH-12",
            code=UNSUPPORTED_VERSION,
            header=header,
        )
    return header


def value(seg: hl7.Segment, field: int, comp: int = 1, rep: int = 1, sub: int = 1) -> str:
    """One unescaped value of a segment, '' when absent (python-hl7 raises instead)."""
    if field >= len(seg):  # absent: most optional fields are, and raising costs more
        return ""
    try:
        return str(seg.extract_field(1, field, rep, comp, sub)).strip()
    except (IndexError, KeyError, ValueError):
        return ""


def repetitions(seg: hl7.Segment, field: int) -> int:
    """How many repetitions a field has (0 when empty)."""
    try:
        rep = seg[field]
    except IndexError:
        return 0
    if not str(rep):
        return 0
    return len(rep) if isinstance(rep, hl7.Field) and _is_repeated(rep) else 1


def _is_repeated(rep: hl7.Field) -> bool:
    return bool(rep) and isinstance(rep[0], hl7.Repetition)


def segments(msg: hl7.Message, name: str) -> list[hl7.Segment]:
    try:
        return list(msg.segments(name))
    except KeyError:
        return []
