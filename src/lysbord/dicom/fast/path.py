"""Three small changes to pynetdicom's I/O loops that the store path needs (DOMAIN.md §8).

pynetdicom 3.0.4 reads a PDU 4 KB at a time, its DUL thread sleeps 1 ms whenever
it finds nothing to do, and the acceptor's reactor sleeps 1 ms on every pass. A
CT instance then waits for up to three such sleeps. Here:

1. ``AssociationSocket.recv`` reads the whole PDU with ``recv_into``;
2. the DUL thread's idle sleep becomes a ``select`` on its socket and on a wake-up
   pipe written by ``send_pdu``, so it wakes for incoming data *and* outgoing
   responses at once;
3. the acceptor reactor's 1 ms sleep becomes a wait for a poke: a DIMSE message
   or a release or abort from the peer put on its queues, or ``kill()``.

Also each new association no longer deep-copies the AE's ~70 presentation contexts
nor resolves the listener's own address again (together a third of the CPU a
worklist query costs, association included). ``fast.switch`` puts these in place.
"""

from __future__ import annotations

import copy
import select
import socket
import threading
import time
from typing import Any

from pynetdicom.dul import DULServiceProvider
from pynetdicom.presentation import PresentationContext
from pynetdicom.transport import AddressInformation, AssociationSocket, RequestHandler

from lysbord.dicom.fast import reading

REACTOR_PASS = 0.001  # the sleep at the top of Association._run_reactor
# Between pokes the reactor still looks, this often, at what nothing pokes it for:
# its network (idle) timeout and a DUL thread that died.
REACTOR_IDLE = 0.5


def recv_whole(self: AssociationSocket, nr_bytes: int) -> bytearray:
    """Read exactly ``nr_bytes`` (fewer only if the peer closed), in as few calls as possible."""
    return reading.receive(self.socket, nr_bytes)


class _Time:
    """Stands in for the ``time`` module inside one of pynetdicom's modules."""

    def __getattr__(self, name: str) -> Any:
        return getattr(time, name)


class DulTime(_Time):
    """``time`` inside pynetdicom.dul: sleeping becomes waiting for work."""

    @staticmethod
    def sleep(seconds: float) -> None:
        me = threading.current_thread()
        sock = getattr(getattr(me, "socket", None), "socket", None)
        wake = getattr(me, "_lysbord_wake", None)
        if not isinstance(me, DULServiceProvider) or sock is None or wake is None:
            time.sleep(seconds)
            return
        try:
            ready, _, _ = select.select([sock, wake[0]], [], [], seconds)
        except (OSError, ValueError):  # the socket closed under us
            return
        if wake[0] in ready:
            me._lysbord_woken = False  # type: ignore[attr-defined]  # before draining
            _drain(wake[0])


class ReactorTime(_Time):
    """``time`` inside pynetdicom.association: the reactor waits to be poked."""

    @staticmethod
    def sleep(seconds: float) -> None:
        me = threading.current_thread()
        poke: threading.Event | None = getattr(me, "_lysbord_poke", None)
        # Only the reactor's own 1 ms pass; its 0.1 ms waits for a pause must stay sleeps.
        if poke is None or seconds != REACTOR_PASS:
            time.sleep(seconds)
            return
        poke.wait(REACTOR_IDLE)
        poke.clear()  # before the pass looks at the queues: a later put pokes again


def _poke_on_put(queue: Any, poke: threading.Event) -> None:
    put = queue.put

    def poking_put(item: Any, block: bool = True, timeout: float | None = None) -> None:
        put(item, block, timeout)
        poke.set()

    queue.put = poking_put


def _drain(sock: socket.socket) -> None:
    try:
        while sock.recv(4096):
            pass
    except BlockingIOError:
        pass


def wrap_dul_run(original: Any) -> Any:
    def run(self: DULServiceProvider) -> None:
        reader, writer = socket.socketpair()
        reader.setblocking(False)
        writer.setblocking(False)
        self._lysbord_wake = (reader, writer)  # type: ignore[attr-defined]
        self._lysbord_woken = False  # type: ignore[attr-defined]  # a byte is in the pipe
        try:
            original(self)
        finally:
            self._lysbord_wake = None  # type: ignore[attr-defined]
            reader.close()
            writer.close()

    return run


def wrap_send_pdu(original: Any) -> Any:
    def send_pdu(self: DULServiceProvider, primitive: Any) -> None:
        original(self, primitive)
        wake = getattr(self, "_lysbord_wake", None)
        # One byte in the pipe wakes the DUL for every primitive queued before it drains:
        # a C-FIND answer of 50 matches then costs one wake-up, not 50 thread switches.
        if wake is None or self._lysbord_woken:  # type: ignore[attr-defined]
            return
        self._lysbord_woken = True  # type: ignore[attr-defined]
        try:
            wake[1].send(b"\0")
        except (BlockingIOError, OSError):
            pass  # already signalled, or closing

    return send_pdu


def wrap_reactor(original: Any) -> Any:
    def _run_reactor(self: Any) -> None:
        # Acceptors only: a requestor keeps pynetdicom's 1 ms pass (its send_*() wait
        # for their responses themselves; the reactor only serves what the peer asks).
        if self.is_acceptor:
            poke = threading.Event()
            _poke_on_put(self.dimse.msg_queue, poke)  # a request to serve
            _poke_on_put(self.dul.to_user_queue, poke)  # a release or abort from the peer
            self._lysbord_poke = poke
        original(self)

    return _run_reactor


def wrap_kill(original: Any) -> Any:
    def kill(self: Any) -> None:
        original(self)
        poke = getattr(self, "_lysbord_poke", None)
        if poke is not None:
            poke.set()  # the reactor leaves now, not at its next idle check

    return kill


# What a PresentationContext of the pinned version holds; all immutable but the list.
_CONTEXT_FIELDS = frozenset(vars(PresentationContext()))


def copy_contexts(value: Any) -> Any:
    """``transport.deepcopy``: the supported contexts, copied as far as they can change.

    The only mutable part of a context is its transfer syntax list (UIDs are strings);
    anything else, or a context with fields we do not know, is deep-copied as before.
    """
    if not isinstance(value, list) or not all(
        type(c) is PresentationContext and vars(c).keys() == _CONTEXT_FIELDS for c in value
    ):
        return copy.deepcopy(value)
    copies = []
    for context in value:
        twin = PresentationContext.__new__(PresentationContext)
        vars(twin).update(vars(context), _transfer_syntax=list(context._transfer_syntax))
        copies.append(twin)
    return copies


def listener_address(self: RequestHandler) -> AddressInformation:
    """The listener's address, resolved once per server (pynetdicom resolves it per
    association, with getaddrinfo); each association gets its own copy."""
    server = self.server
    known = getattr(server, "_lysbord_local", None)
    if known is None:
        known = AddressInformation.from_tuple(server.server_address)
        server._lysbord_local = known  # type: ignore[attr-defined]
    return copy.copy(known)
