"""Media types of DICOMweb: Accept and Content-Type parsing, and choosing what to send.

PS3.18 8.7: a client lists acceptable media types in Accept, multipart ones with a
``type`` and an optional ``transfer-syntax`` parameter (``*``: as stored). Without
``transfer-syntax`` the default of the type applies: Explicit VR Little Endian for
``application/dicom`` and ``application/octet-stream`` (PS3.18 Table 8.7.3-2).
Pure functions, no I/O.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from pydicom.uid import ExplicitVRLittleEndian

EXPLICIT_LE = str(ExplicitVRLittleEndian)
ANY_SYNTAX = "*"
_PARAM = re.compile(r'\s*;\s*([^=;\s]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^;,\s]*)')


@dataclass(frozen=True, slots=True)
class MediaRange:
    """One entry of an Accept header (or a Content-Type): ``type/subtype; key=value``."""

    media_type: str
    params: dict[str, str] = field(default_factory=dict)
    q: float = 1.0

    def matches(self, offered: str) -> bool:
        """True when this range admits the concrete media type ``offered``."""
        kind, _, sub = self.media_type.partition("/")
        o_kind, _, o_sub = offered.partition("/")
        return kind == "*" or (kind == o_kind and sub in ("*", o_sub))


def parse_media_type(text: str) -> MediaRange:
    """``multipart/related; type="application/dicom"; boundary=x`` as a MediaRange."""
    head, _, rest = text.strip().partition(";")
    params = {k.lower(): v.strip('"') for k, v in _PARAM.findall(";" + rest if rest else "")}
    q = _quality(params.pop("q", "1"))
    return MediaRange(head.strip().lower(), params, q)


def parse_accept(header: str | None) -> list[MediaRange]:
    """The ranges of an Accept header, best first; no header means ``*/*``."""
    if not header or not header.strip():
        return [MediaRange("*/*")]
    ranges = [parse_media_type(part) for part in _split(header) if part.strip()]
    return sorted((r for r in ranges if r.q > 0), key=lambda r: -r.q)


def _split(header: str) -> list[str]:
    """Split on commas outside quoted strings."""
    parts: list[str] = []
    current: list[str] = []
    quoted = False
    for char in header:
        if char == '"':
            quoted = not quoted
        if char == "," and not quoted:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return parts


def _quality(value: str) -> float:
    try:
        return max(0.0, min(1.0, float(value)))
    except ValueError:
        return 1.0


@dataclass(frozen=True, slots=True)
class Choice:
    """What to send: the part media type and the transfer syntax (``*``: as stored)."""

    part_type: str
    transfer_syntax: str


def choose_multipart(accept: list[MediaRange], part_types: tuple[str, ...]) -> Choice | None:
    """The first acceptable ``multipart/related`` representation among ``part_types``.

    ``*/*``, ``multipart/*`` and ``multipart/related`` without ``type`` take the first
    (default) part type with its default transfer syntax; ``type`` may be a range too
    (dicomweb-client asks for bulk data as ``type="*/*"``).
    """
    for r in accept:
        if not r.matches("multipart/related"):
            continue
        part = part_type(r, part_types)
        if part is None:
            continue
        syntax = r.params.get("transfer-syntax", "") or EXPLICIT_LE
        return Choice(part, syntax)
    return None


def part_type(r: MediaRange, part_types: tuple[str, ...]) -> str | None:
    """The first of ``part_types`` the ``type`` parameter of a multipart range admits."""
    wanted = parse_media_type(r.params.get("type", "") or part_types[0])
    return next((t for t in part_types if wanted.matches(t)), None)


def accepts(accept: list[MediaRange], *offered: str) -> str | None:
    """The first of ``offered`` (single-part types) that the Accept ranges admit."""
    for r in accept:
        for media_type in offered:
            if r.matches(media_type):
                return media_type
    return None
