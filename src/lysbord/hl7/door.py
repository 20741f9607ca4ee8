"""The MLLP door: an asyncio server on its own thread and loop, many connections at once.

Each connection answers its frames in order (HL7 original acknowledgment mode: one
answer per message); the database work runs on a thread pool, and frames waiting on
different connections are applied together, one commit for all (group commit). A broken
frame gets its AR and the connection carries on; a database failure closes the
connection unanswered, so the sender sends again.
``stop`` lets messages being applied finish and answer before the loop ends.

The accept loop is our own rather than ``asyncio.start_server``: closing that
server between an accept and its transport leaks the accepted socket (CPython
3.11), and ``stop`` must leave nothing open.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from lysbord.config.hl7 import Hl7InSettings
from lysbord.hl7 import parse as p
from lysbord.hl7.ack import Location, Problem
from lysbord.hl7.inbound import handle_together, unreadable
from lysbord.hl7.mllp import Broken, Deframer, Frame, Piece, wrap
from lysbord.hl7.parse import header_of
from lysbord.services.core.context import Context
from lysbord.store.groupcommit import GroupCommit

log = logging.getLogger(__name__)
READ_SIZE = 65536
#: One frame as the door received it: the payload and the peer it came from.
Item = tuple[bytes, str]


class Hl7Door:
    """``start()`` listens (port 0 picks a free one, see ``port``); ``stop()`` ends it."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        cfg = ctx.settings.hl7
        self._listener = socket.create_server((cfg.host, ctx.settings.hl7_port), backlog=128)
        self._listener.setblocking(False)
        self.port: int = self._listener.getsockname()[1]
        self._loop = asyncio.new_event_loop()
        self._pool = ThreadPoolExecutor(cfg.workers, thread_name_prefix="hl7")
        self._thread = threading.Thread(target=self._loop.run_forever, name="hl7-door")
        self._group: GroupCommit[Item, bytes] = GroupCommit(
            lambda frames: handle_together(ctx, frames),
            lambda apply, frames: self._loop.run_in_executor(self._pool, apply, frames),
            in_flight=_batches_at_once(ctx, cfg.workers),
        )
        self._acceptor: asyncio.Task[None] | None = None
        self._busy: set[asyncio.Task[None]] = set()
        self._idle: set[asyncio.Task[None]] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._stopping = False

    def start(self) -> None:
        self._thread.start()
        self._loop.call_soon_threadsafe(self._start_accepting)
        log.info("HL7 MLLP on %s:%d", self.ctx.settings.hl7.host, self.port)

    def stop(self, grace: float = 10.0) -> None:
        if self._loop.is_closed():
            return
        if self._thread.is_alive():
            asyncio.run_coroutine_threadsafe(self._close(grace), self._loop).result(grace + 15)
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)
        self._pool.shutdown(wait=True)
        self._listener.close()
        self._loop.close()

    def _start_accepting(self) -> None:
        self._acceptor = self._loop.create_task(self._accept())

    async def _accept(self) -> None:
        """Accept until ``stop`` wakes us with a connection of its own."""
        loop = asyncio.get_running_loop()
        while True:
            conn, _ = await loop.sock_accept(self._listener)
            if self._stopping:
                conn.close()
                return
            task = loop.create_task(self._serve(conn))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _close(self, grace: float) -> None:
        """Stop accepting, drop idle connections, let busy ones answer, then end them all."""
        self._stopping = True
        with socket.create_connection(self._listener.getsockname()[:2], timeout=5):
            pass  # wakes the accept loop, which sees _stopping and ends
        if self._acceptor is not None:
            await asyncio.gather(self._acceptor, return_exceptions=True)
        for task in list(self._idle):
            task.cancel()
        if self._busy:
            await asyncio.wait(list(self._busy), timeout=grace)
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._group.finish()

    async def _serve(self, conn: socket.socket) -> None:
        try:
            reader, writer = await asyncio.open_connection(sock=conn)
        except BaseException:
            conn.close()
            raise
        host, port = writer.get_extra_info("peername")[:2]
        state = _Reading(Deframer(self.ctx.settings.hl7.max_frame_bytes), f"{host}:{port}")
        try:
            while await self._step(reader, writer, state):
                pass
        except (ConnectionError, asyncio.CancelledError):
            pass  # the peer left, or the door is stopping: nothing left to answer
        except Exception:
            log.exception("HL7 connection from %s:%s closed unanswered", host, port)
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError, asyncio.CancelledError):
                await writer.wait_closed()

    async def _step(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, state: _Reading
    ) -> bool:
        """Read once and answer what became whole; False when the peer has closed, or has
        sent nothing for ``idle_timeout_seconds`` (then the door closes the connection)."""
        task = asyncio.current_task()
        hl7 = self.ctx.settings.hl7
        deframer, quiet = state.deframer, False
        if task is not None:
            self._idle.add(task)
        try:
            data = await asyncio.wait_for(reader.read(READ_SIZE), state.wait(hl7))
        except TimeoutError:
            if not deframer.pending:
                return False  # idle: nothing is owed to this peer
            data, quiet = b"", True
        finally:
            self._idle.discard(task)
        timeout = hl7.frame_timeout_seconds
        pieces = deframer.feed(data) if data else _flush(deframer, timeout, quiet)
        state.fed(bool(pieces))
        if task is not None:
            self._busy.add(task)
        try:
            for piece in pieces:
                reply = await self._answer(piece, state.peer)
                if data or quiet:  # a closed connection cannot be answered, only kept
                    writer.write(wrap(reply))
            await writer.drain()
        finally:
            self._busy.discard(task)
        return (bool(data) or quiet) and not self._stopping

    async def _answer(self, piece: Piece, peer: str) -> bytes:
        if isinstance(piece, Frame):
            return await self._group.submit((piece.payload, peer))
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, self._broken, piece, peer)

    def _broken(self, piece: Broken, peer: str) -> bytes:
        found = Problem(Location("MSH"), p.SEGMENT_SEQUENCE, piece.reason)
        return unreadable(self.ctx, piece.payload, header_of(piece.payload), found, peer)


@dataclass(slots=True)
class _Reading:
    """One connection's reading: a frame's deadline runs from its first byte, so a byte
    every few seconds cannot hold it open; an idle connection has a deadline of its own."""

    deframer: Deframer
    peer: str
    pending_since: float | None = None

    def wait(self, hl7: Hl7InSettings) -> float:
        """How long the next read may wait."""
        if self.pending_since is None:
            return hl7.idle_timeout_seconds
        elapsed = time.monotonic() - self.pending_since
        return max(0.0, hl7.frame_timeout_seconds - elapsed)

    def fed(self, answered: bool) -> None:
        """After a read: a frame left pending keeps its start unless one just ended."""
        if not self.deframer.pending:
            self.pending_since = None
        elif answered or self.pending_since is None:
            self.pending_since = time.monotonic()


def _batches_at_once(ctx: Context, workers: int) -> int:
    """SQLite has one writer: two batches (one applied while the other commits), and
    they grow. PostgreSQL flushes the log of concurrent commits together by itself and
    hides each statement's round trip behind the others': as many as there are threads,
    and batches form only when more frames wait than threads (measured, issue 4)."""
    return 2 if ctx.db.engine.dialect.name == "sqlite" else workers


def _flush(deframer: Deframer, timeout: float, quiet: bool) -> list[Piece]:
    broken = deframer.flush(f"not ended within {timeout:g} s" if quiet else "connection closed")
    return [broken] if broken else []
