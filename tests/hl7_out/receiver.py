"""A test MLLP receiver: a real threaded TCP server that records what it gets and ACKs.

``answer(message) -> code`` decides each acknowledgment (AA by default; AE or AR to
refuse, None to stay silent); ``charset`` is what the ACKs are written in and ``reason``
the ERR-8 text of a refusal. It can stop and start again on the same port, which is
how tests make a receiver that is down for a while.
"""

from __future__ import annotations

import socket
import socketserver
import threading
from collections.abc import Callable
from dataclasses import dataclass

from lysbord.hl7.mllp import Deframer, Frame, wrap

Answer = Callable[[str], str | None]


def field(message: str, segment: str, n: int) -> str:
    """Field ``n`` of the first ``segment`` (MSH counted the HL7 way: MSH-1 is '|')."""
    for line in message.split("\r"):
        parts = line.split("|")
        if parts[0] == segment:
            index = n - 1 if segment == "MSH" else n
            return parts[index] if index < len(parts) else ""
    return ""


@dataclass(frozen=True, slots=True)
class Charset:
    """How a receiver writes its ACKs: the MSH-18 it names and the bytes it really sends."""

    msh18: str
    codec: str


UTF8 = Charset("UNICODE UTF-8", "utf-8")


def ack_for(message: str, code: str, charset: Charset = UTF8, reason: str = "") -> bytes:
    """An ACK of ``message``: MSA-3 says the code, ERR-8 the ``reason`` when there is one."""
    control = field(message, "MSH", 10)
    text = "|".join(
        ["MSH", "^~\\&", "EHR", "HOSP", "LYSBORD", "REGION-H", "20261123080000", "", "ACK"]
        + [f"A{control}", "P", "2.5.1", "", "", "", "", "", charset.msh18]
    )
    msa = f"MSA|{code}|{control}|" + ("" if reason else f"test says {code}")
    err = f"\rERR||PID^3|204|E||||{reason}" if reason else ""
    return wrap(f"{text}\r{msa}{err}\r".encode(charset.codec))


class Receiver:
    def __init__(self, answer: Answer | None = None, port: int = 0) -> None:
        self.answer: Answer = answer or (lambda _m: "AA")
        self.charset = UTF8  # what the ACKs are written in
        self.reason = ""  # ERR-8 of a refusal
        self.messages: list[str] = []
        self.port = port
        self._server: socketserver.ThreadingTCPServer | None = None
        self._lock = threading.Lock()

    def start(self) -> Receiver:
        receiver = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                receiver._serve(self.request)

        socketserver.ThreadingTCPServer.allow_reuse_address = True
        server = socketserver.ThreadingTCPServer(("127.0.0.1", self.port), Handler)
        server.daemon_threads = True
        self.port = server.server_address[1]
        threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
        self._server = server
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def _serve(self, sock: socket.socket) -> None:
        frames = Deframer(1 << 22)
        while data := sock.recv(65536):
            for piece in frames.feed(data):
                assert isinstance(piece, Frame), piece
                message = piece.payload.decode("utf-8")
                with self._lock:
                    self.messages.append(message)
                code = self.answer(message)
                if code is not None:
                    sock.sendall(ack_for(message, code, self.charset, self.reason))

    def control_ids(self) -> list[str]:
        with self._lock:
            return [field(m, "MSH", 10) for m in self.messages]


def closed_port() -> int:
    """A loopback port nobody listens on (for now)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port
