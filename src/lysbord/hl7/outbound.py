"""Sending one HL7 message over MLLP and reading its acknowledgment (a blocking client).

HL7 v2.5.1 §2.9 (original and enhanced mode): MSA-1 ``AA`` or ``CA`` means the
receiver took the message; ``AE``, ``AR``, ``CE`` or ``CR`` means it did not, and
so does an ACK that names another control ID (MSA-2) or none arriving in time.
The caller counts every such failure as an attempt and retries later.
"""

from __future__ import annotations

import socket
import time
from dataclasses import dataclass

from lysbord.hl7.mllp import Broken, Deframer, wrap
from lysbord.hl7.parse import decode_leniently

ACCEPTED = frozenset({"AA", "CA"})
MAX_ACK_BYTES = 1 << 20


class DeliveryError(Exception):
    """The connection failed or the peer answered nothing usable in time."""


@dataclass(frozen=True, slots=True)
class Ack:
    code: str
    control_id: str
    text: str

    @property
    def accepted(self) -> bool:
        return self.code in ACCEPTED


def read_ack(raw: bytes, expected_id: str, default_charset: str = "ASCII") -> Ack:
    """The acknowledgment in ``raw``; one for another message counts as a refusal.

    Only MSA (and ERR-8 for the reason) is read, split by the separator MSH names. The
    receiver answers in its own character set, named in the ACK's MSH-18 (HL7 v2.5.1
    §2.14.9.18), which need not be ours: a reason in ISO 8859-1 read as UTF-8 would lose
    its Danish letters in the outbox's last error, where a person has to read it.
    """
    text = decode_leniently(raw, default_charset)
    if not text.startswith("MSH") or len(text) < 8:
        return Ack("AE", "", "not an HL7 acknowledgment: it does not start with MSH")
    sep = text[3]
    found = {
        line.split(sep, 1)[0]: line.split(sep) for line in text.replace("\n", "\r").split("\r")
    }
    msa, err = found.get("MSA"), found.get("ERR", [])
    if msa is None:
        return Ack("AE", "", "acknowledgment without an MSA segment")
    code, acked = _at(msa, 1), _at(msa, 2)
    reason = _at(msa, 3) or _at(err, 8)
    if acked != expected_id:
        return Ack("AE", acked, f"MSA-2 is {acked!r}, not the control ID sent {expected_id!r}")
    return Ack(code, acked, reason)


def _at(fields: list[str], n: int) -> str:
    return fields[n].strip() if n < len(fields) else ""


class MllpConnection:
    """One connection to one receiver; messages go one at a time, each awaiting its ACK."""

    def __init__(
        self,
        host: str,
        port: int,
        connect_timeout: float,
        ack_timeout: float,
        default_charset: str = "ASCII",
    ) -> None:
        self.ack_timeout = ack_timeout
        self.default_charset = default_charset  # for an ACK whose MSH-18 is empty
        try:
            self._sock = socket.create_connection((host, port), timeout=connect_timeout)
        except OSError as exc:
            raise DeliveryError(f"cannot connect to {host}:{port}: {exc}") from None
        self._sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._frames = Deframer(MAX_ACK_BYTES)

    def exchange(self, message: str, control_id: str) -> Ack:
        """Send the message (UTF-8, as MSH-18 says) and wait for its acknowledgment."""
        try:
            self._sock.sendall(wrap(message.encode("utf-8")))
            return read_ack(self._receive(), control_id, self.default_charset)
        except OSError as exc:
            raise DeliveryError(f"connection failed: {exc}") from None

    def _receive(self) -> bytes:
        deadline = time.monotonic() + self.ack_timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise DeliveryError(f"no acknowledgment within {self.ack_timeout:g} s")
            self._sock.settimeout(remaining)
            try:
                data = self._sock.recv(65536)
            except TimeoutError:
                continue
            if not data:
                raise DeliveryError("the receiver closed the connection before acknowledging")
            for piece in self._frames.feed(data):
                if isinstance(piece, Broken):
                    raise DeliveryError(f"unreadable acknowledgment: {piece.reason}")
                return piece.payload

    def close(self) -> None:
        self._sock.close()
