"""MLLP framing only: bytes in, frames out (HL7 v2.5.1 Appendix C.4; no sockets here).

A frame is ``<VT> payload <FS><CR>`` (0x0B ... 0x1C 0x0D). What does not fit that
shape is not thrown away: it comes out as a ``Broken`` piece with the reason, so the
door can store it and answer AR, and the stream carries on at the next start block.
"""

from __future__ import annotations

from dataclasses import dataclass

START = b"\x0b"
END = b"\x1c\x0d"
_BLANK = b" \t\r\n"


@dataclass(frozen=True, slots=True)
class Frame:
    payload: bytes


@dataclass(frozen=True, slots=True)
class Broken:
    """Bytes that were not a whole frame, and why."""

    payload: bytes
    reason: str


Piece = Frame | Broken


def wrap(payload: bytes) -> bytes:
    return START + payload + END


class Deframer:
    """Feed received bytes, collect whole frames and broken pieces in arrival order."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._buf = bytearray()
        self._in_frame = False

    @property
    def pending(self) -> bool:
        """Part of a frame (or stray bytes) is waiting for more."""
        return bool(self._buf.strip(_BLANK)) or self._in_frame

    def feed(self, data: bytes) -> list[Piece]:
        self._buf += data
        pieces: list[Piece] = []
        while True:
            piece = self._next()
            if piece is None:
                return pieces
            pieces.append(piece)

    def flush(self, reason: str) -> Broken | None:
        """Give up on what is pending (the peer went quiet or closed): a truncated piece."""
        data = bytes(self._buf)
        was_frame, self._in_frame = self._in_frame, False
        self._buf.clear()
        if not data.strip(_BLANK) and not was_frame:
            return None
        return Broken(data, f"truncated frame: {reason} before the end block 0x1C 0x0D")

    def _next(self) -> Piece | None:
        if not self._in_frame:
            return self._outside()
        start, end = self._buf.find(START), self._buf.find(END)
        if start != -1 and (end == -1 or start < end):
            payload = bytes(self._buf[:start])
            del self._buf[:start]
            self._in_frame = False
            return Broken(
                payload, "truncated frame: a new start block 0x0B came before the end block"
            )
        if end != -1:
            payload = bytes(self._buf[:end])
            del self._buf[: end + len(END)]
            self._in_frame = False
            return self._sized(payload)
        if len(self._buf) > self.max_bytes:
            return self._sized(self._take_all())
        return None

    def _outside(self) -> Piece | None:
        start = self._buf.find(START)
        if start == -1:
            if len(self._buf) > self.max_bytes:
                return Broken(self._take_all(), "bytes outside a frame (no start block 0x0B)")
            return None
        junk = bytes(self._buf[:start])
        del self._buf[: start + 1]
        self._in_frame = True
        if junk.strip(_BLANK):
            return Broken(junk, "bytes outside a frame (no start block 0x0B)")
        return self._next()

    def _take_all(self) -> bytes:
        data = bytes(self._buf)
        self._buf.clear()
        self._in_frame = False
        return data

    def _sized(self, payload: bytes) -> Piece:
        if len(payload) > self.max_bytes:
            return Broken(payload, f"frame larger than {self.max_bytes} bytes")
        return Frame(payload)
