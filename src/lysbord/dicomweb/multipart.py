"""multipart/related (RFC 2387) as DICOMweb uses it: written as a stream, read incrementally.

Writing: one boundary per response, each part a Content-Type header and its bytes,
yielded in chunks so a 500-image study never sits in memory. Reading (STOW-RS): the
request body is fed chunk by chunk and each part is handed over as soon as its closing
delimiter arrived, so memory holds one part at a time. Delimiters follow RFC 2046 5.1.1:
``--boundary`` at the start of the body or after CRLF; ``--boundary--`` ends the body;
what comes before the first delimiter (the preamble) is ignored.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

CRLF = b"\r\n"


def new_boundary() -> str:
    return f"lysbord-{uuid.uuid4().hex}"


def content_type(part_type: str, boundary: str, transfer_syntax: str | None = None) -> str:
    """The response's Content-Type: ``multipart/related; type="..."; boundary=...``."""
    value = f'multipart/related; type="{part_type}"; boundary={boundary}'
    return value + (f"; transfer-syntax={transfer_syntax}" if transfer_syntax else "")


def write(parts: Iterable[tuple[str, Iterable[bytes]]], boundary: str) -> Iterator[bytes]:
    """The body: for each (Content-Type, chunks) one part; then the closing delimiter.

    Delimiters and headers ride with the next chunk: each item yielded is one write to
    the socket (and, for a streamed response, one trip through the thread pool). For
    small parts (frames, renderings); WADO-RS streams files with ``head`` and ``closing``.
    """
    pending = b""
    for part_type, chunks in parts:
        pending += head(boundary, part_type)
        for chunk in chunks:
            yield pending + chunk
            pending = b""
        pending += CRLF
    yield pending + closing(boundary)


def head(boundary: str, part_type: str) -> bytes:
    """What starts a part: its delimiter line and its Content-Type header.

    A part's bytes follow, then CRLF (before the next head, or the closing delimiter).
    """
    return f"--{boundary}\r\nContent-Type: {part_type}\r\n\r\n".encode()


def closing(boundary: str) -> bytes:
    return f"--{boundary}--\r\n".encode()


class MultipartError(ValueError):
    """The body is not multipart/related with the announced boundary."""


@dataclass(frozen=True, slots=True)
class Part:
    headers: dict[str, str]  # names in lower case
    body: bytes
    number: int  # 1 for the first part of the body

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "")


class Reader:
    """Feed the body in chunks; take each complete part as soon as it is there."""

    def __init__(self, boundary: str, max_part: int) -> None:
        if not boundary or len(boundary) > 200:
            raise MultipartError(f"boundary {boundary!r} is empty or longer than 200 characters")
        self._first = b"--" + boundary.encode("latin-1")
        self._delimiter = CRLF + self._first
        self._buffer = bytearray()
        self._started = False
        self._scanned = 0  # the buffer before this holds no delimiter
        self.finished = False
        self.max_part = max_part
        self.parts_read = 0

    def feed(self, chunk: bytes) -> list[Part]:
        """The parts completed by ``chunk``; raises MultipartError on a broken body."""
        if self.finished:
            return []
        self._buffer += chunk
        if not self._started and not self._find_start():
            return []
        found = []
        while not self.finished:
            end = self._buffer.find(self._delimiter, self._scanned)
            if end < 0:
                self._scanned = max(0, len(self._buffer) - len(self._delimiter))
                if len(self._buffer) > self.max_part + len(self._delimiter):
                    raise MultipartError(
                        f"part {self.parts_read + 1} is larger than {self.max_part} bytes"
                    )
                break
            after = bytes(self._buffer[end + len(self._delimiter) : end + len(self._delimiter) + 2])
            if len(after) < 2:
                break  # the delimiter's end (CRLF or --) has not arrived yet
            if after not in (b"--", CRLF) and after[:1] not in (b" ", b"\t"):
                self._scanned = end + 1  # "--boundaryX" is content, not a delimiter
                continue
            found.append(self._part(end))
            del self._buffer[: end + len(self._delimiter)]
            self._scanned = 0
            self._after_delimiter()
        return found

    def close(self) -> None:
        """The body ended: it must have ended with the closing delimiter."""
        if not self._started:
            raise MultipartError("no part starts with the boundary given in Content-Type")
        if not self.finished:
            raise MultipartError(
                f"the body ends inside part {self.parts_read + 1}: no closing boundary"
            )

    def _find_start(self) -> bool:
        if self._buffer.startswith(self._first):
            at = 0
        else:
            found = self._buffer.find(self._delimiter)
            if found < 0:
                if len(self._buffer) > 64 * 1024:
                    raise MultipartError("no boundary in the first 64 KB of the body")
                return False
            at = found + 2
        if len(self._buffer) < at + len(self._first) + 2:
            return False
        del self._buffer[: at + len(self._first)]
        self._started = True
        self._after_delimiter()
        return True

    def _after_delimiter(self) -> None:
        """After ``--boundary``: ``--`` ends the body, else skip padding up to CRLF."""
        if self._buffer.startswith(b"--"):
            self.finished = True
            return
        eol = self._buffer.find(CRLF)
        if eol < 0 or self._buffer[:eol].strip(b" \t"):
            raise MultipartError("a boundary line is not followed by CRLF")
        del self._buffer[: eol + 2]

    def _part(self, end: int) -> Part:
        """The part in the buffer before ``end``; its body is copied once, straight out."""
        if end > self.max_part:
            raise MultipartError(f"part {self.parts_read + 1} is larger than {self.max_part} bytes")
        self.parts_read += 1
        blank = self._buffer.find(CRLF + CRLF, 0, end)
        if blank >= 0:
            headers, start = _headers(bytes(self._buffer[:blank]), self.parts_read), blank + 4
        elif self._buffer.startswith(CRLF, 0, end):  # no headers at all
            headers, start = {}, 2
        else:
            raise MultipartError(f"part {self.parts_read} has no blank line after its headers")
        with memoryview(self._buffer) as view:
            body = bytes(view[start:end])
        return Part(headers, body, self.parts_read)


def _headers(head: bytes, number: int) -> dict[str, str]:
    headers = {}
    for line in head.split(CRLF):
        if not line:
            continue
        name, colon, value = line.decode("latin-1").partition(":")
        if not colon:
            raise MultipartError(f"part {number} has a header line without ':'")
        headers[name.strip().lower()] = value.strip()
    return headers
