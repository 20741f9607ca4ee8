"""Inbound HL7: new orders (ORM^O01 NW) per second through the MLLP door, each acknowledged.

Target (issue 4): ≥ 300 messages/s on PostgreSQL. The door runs in this process as in
``lysbord serve`` (its own thread and loop, ``hl7.workers`` threads applying); the
senders run in a separate process, so they do not share the door's interpreter. Each
message is a new referral with one procedure for a known patient, answered ORR^O02
only after it is committed (fsync on SQLite, a PostgreSQL commit). One connection
sends one message at a time, as an HL7 interface engine does; eight do so at once.
"""

from __future__ import annotations

import dataclasses
import multiprocessing
import os
import socket
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from multiprocessing.connection import Connection

from bench.common import BACKENDS, Row, backend_context, console
from lysbord.hl7.door import Hl7Door
from lysbord.hl7.mllp import Deframer, Frame, wrap
from lysbord.services.core.context import Context
from lysbord.services.messaging.inbox_queries import InboxFilter, list_messages
from tests.helpers import build_small_region, new_patient

SUITE = "hl7"
QUICK = os.environ.get("LYSBORD_BENCH_QUICK") == "1"
MESSAGES = 300 if QUICK else 2000
PATIENTS = 50 if QUICK else 200
SHAPES = (1, 8)  # connections
TARGET = 300
ORDER = (
    "MSH|^~\\&|BENCH|RHHOSP|LYSBORD|RADIOLOGY|20261123080000||ORM^O01|{id}|P|2.3.1\r"
    "PID|1||{cpr}^^^CPR||Bench^Patient\r"
    "ORC|NW|{id}^BENCH|||||^^^^^R\r"
    "OBR|1|{id}^BENCH||UXCC00^CT af thorax^L|||||||||Benchmark\r"
)


def orders(cprs: list[str], n: int) -> list[bytes]:
    return [
        ORDER.format(id=uuid.uuid4().hex[:20], cpr=cprs[i % len(cprs)]).encode("ascii")
        for i in range(n)
    ]


def _sender(port: int, messages: list[bytes]) -> int:
    """One connection: send, wait for the answer, send the next. Returns how many AA."""
    accepted = 0
    with socket.create_connection(("127.0.0.1", port), timeout=60) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        deframer = Deframer(1_000_000)
        for msg in messages:
            sock.sendall(wrap(msg))
            answers: list[bytes] = []
            while not answers:
                got = deframer.feed(sock.recv(65536))
                answers = [p.payload for p in got if isinstance(p, Frame)]
            accepted += b"MSA|AA|" in answers[0]
    return accepted


def _senders(port: int, batches: list[list[bytes]], out: Connection) -> None:
    """The client process: one thread per connection, timed from first send to last answer."""
    start = time.perf_counter()
    with ThreadPoolExecutor(len(batches)) as pool:
        accepted = sum(pool.map(lambda b: _sender(port, b), batches))
    out.send((accepted, time.perf_counter() - start))


def measure(port: int, messages: list[bytes], connections: int) -> tuple[int, float]:
    batches = [messages[i::connections] for i in range(connections)]
    spawn = multiprocessing.get_context("spawn")
    theirs, ours = spawn.Pipe(duplex=False)
    client = spawn.Process(target=_senders, args=(port, batches, ours))
    client.start()
    accepted, seconds = theirs.recv()
    client.join()
    return accepted, seconds


def backend_rows(ctx: Context, backend: str) -> list[Row]:
    build_small_region(ctx, weeks=1)
    cprs = [new_patient(ctx) for _ in range(PATIENTS)]
    settings = ctx.settings.model_copy(update={"hl7_port": 0})
    door = Hl7Door(dataclasses.replace(ctx, settings=settings))
    door.start()
    rows = []
    try:
        measure(door.port, orders(cprs, 20), 1)  # warm up: connections, caches
        for connections in SHAPES:
            console.print(f"hl7 {backend}: {MESSAGES} orders over {connections} connection(s)")
            accepted, seconds = measure(door.port, orders(cprs, MESSAGES), connections)
            rate = accepted / seconds
            target = TARGET if backend == "postgresql" else 0
            rows.append(
                Row(
                    SUITE,
                    backend,
                    f"ORM^O01 new orders/s with ACK, {connections} connection(s)",
                    f"{rate:.0f}",
                    f"≥ {target}" if target else "",
                    ("ok" if rate >= target else "MISSED") if target else "",
                )
            )
            if accepted != MESSAGES:
                rows.append(Row(SUITE, backend, "orders not AA", str(MESSAGES - accepted)))
    finally:
        door.stop()
    stored = list_messages(ctx, InboxFilter(status="applied", limit=1))[1]
    rows.append(Row(SUITE, backend, "inbox rows applied", str(stored)))
    return rows


def run() -> list[Row]:
    """Inbound rows; the outbound delivery rate is the ``hl7_out`` suite."""
    rows: list[Row] = []
    for backend in BACKENDS:
        with backend_context(backend, SUITE) as ctx:
            rows += backend_rows(ctx, backend)
    return rows
