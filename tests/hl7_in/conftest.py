"""HL7 door fixtures: a real MLLP door on a free loopback port over ``ctx``, and a client."""

from __future__ import annotations

import dataclasses
import socket
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from lysbord.hl7.door import Hl7Door
from lysbord.hl7.mllp import Deframer, Frame, wrap
from lysbord.services.core.context import Context

SAMPLES = Path(__file__).parent / "samples"


class MllpClient:
    """A small blocking MLLP client: send a payload (or raw bytes), read one framed answer."""

    def __init__(self, port: int, timeout: float = 30) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self._deframer = Deframer(10_000_000)
        self._ready: list[bytes] = []

    def send_raw(self, data: bytes) -> None:
        self.sock.sendall(data)

    def receive(self) -> bytes:
        while not self._ready:
            data = self.sock.recv(65536)
            if not data:
                raise ConnectionError("the door closed the connection")
            self._ready += [p.payload for p in self._deframer.feed(data) if isinstance(p, Frame)]
        return self._ready.pop(0)

    def call(self, payload: bytes) -> bytes:
        self.send_raw(wrap(payload))
        return self.receive()

    def close(self) -> None:
        self.sock.close()


def sample(name: str, **values: str) -> bytes:
    """A checked-in sample without its header comment, placeholders filled, CR-separated.

    The file says its character set in its header (``# charset: 8859/1``)."""
    text = (SAMPLES / name).read_text(encoding="utf-8")
    lines = [line for line in text.splitlines() if line and not line.startswith("#")]
    charset = next(
        (
            line.split(":", 1)[1].strip()
            for line in text.splitlines()
            if line.startswith("# charset:")
        ),
        "utf-8",
    )
    body = "\r".join(lines) + "\r"
    for key, value in values.items():
        body = body.replace("{" + key + "}", value)
    return body.encode({"8859/1": "latin-1", "ascii": "ascii"}.get(charset, "utf-8"))


def segment(answer: bytes, name: str, encoding: str = "latin-1") -> list[str]:
    """The fields of the first ``name`` segment of an answer (index n is field n)."""
    for seg in answer.decode(encoding).split("\r"):
        if seg.startswith(name + "|"):
            fields = seg.split("|")
            return ["MSH", "|", *fields[1:]] if name == "MSH" else fields
    raise AssertionError(f"no {name} in {answer!r}")


MakeDoor = Callable[..., Hl7Door]


@pytest.fixture
def make_hl7_door(ctx: Context) -> Iterator[MakeDoor]:
    doors: list[Hl7Door] = []

    def make(**hl7: Any) -> Hl7Door:
        settings = ctx.settings.model_copy(
            update={"hl7_port": 0, "hl7": ctx.settings.hl7.model_copy(update=hl7)}
        )
        door = Hl7Door(dataclasses.replace(ctx, settings=settings))
        door.start()
        doors.append(door)
        return door

    yield make
    for door in doors:
        door.stop()


@pytest.fixture
def hl7_door(make_hl7_door: MakeDoor) -> Hl7Door:
    return make_hl7_door()


@pytest.fixture
def client(hl7_door: Hl7Door) -> Iterator[MllpClient]:
    c = MllpClient(hl7_door.port)
    yield c
    c.close()
