"""The DICOM door's listener: pynetdicom's server on a socket shared by worker processes.

``lysbord serve`` binds the port once and its DICOM worker processes all accept on
that socket (DOMAIN.md §8: threads alone stay below Orthanc with parallel
associations), the least busy taking the next association (``lysbord.sharing``):
four storescu connecting at once get two workers each. Accepted sockets get
TCP_NODELAY: without it every small DIMSE message waits for Nagle's algorithm.

Not a fast path: the door listens this way with the fast paths off too. But it
subclasses pynetdicom's server and registers it in ``ae._servers`` (``start_server``
would, but only with its own server class), so it lives here, with the internals.
"""

from __future__ import annotations

import socket
import threading
import time
from typing import Any, cast

from pynetdicom import AE, evt
from pynetdicom.transport import ThreadedAssociationServer

from lysbord.sharing import YIELD_FOR, Shared


class LysbordAssociationServer(ThreadedAssociationServer):
    """pynetdicom's server, on a socket of its own or on ``serve``'s (``shared``), with
    TCP_NODELAY on each peer."""

    def __init__(self, *args: Any, shared: Shared | None = None, **kwargs: Any) -> None:
        self.shared = shared
        self._peers: list[socket.socket] = []  # accepted here; pynetdicom closes each at the end
        self._peers_lock = threading.Lock()
        super().__init__(*args, **kwargs)
        for ended in (evt.EVT_RELEASED, evt.EVT_ABORTED, evt.EVT_REJECTED):
            self.bind(ended, self._ended)  # publish at once, not at the next idle pass

    def server_bind(self) -> None:
        if self.shared is None:
            super().server_bind()
            return
        cast(socket.socket, self.socket).close()  # the one socketserver made for us
        self.socket = self.shared.listener
        # Non-blocking: when another process took the connection, accept() fails at
        # once and serve_forever goes back to waiting (and still sees shutdown()).
        self.socket.setblocking(False)
        self.server_address = self.socket.getsockname()

    def server_activate(self) -> None:
        if self.shared is None:
            super().server_activate()  # listen(); a shared socket listens already

    def server_close(self) -> None:
        if self.shared is None:
            super().server_close()
            return
        # close() only: shutdown() on a listening socket stops it for every process.
        cast(socket.socket, self.socket).close()

    def get_request(self) -> tuple[socket.socket, tuple[str, int]]:
        if self.shared is not None and self.shared.defer(self._serving()):
            time.sleep(YIELD_FOR)
            raise BlockingIOError("left to a less busy worker")  # socketserver: not now
        client, address = super().get_request()
        with self._peers_lock:
            self._peers.append(client)
        self._publish()
        client.setblocking(True)  # pynetdicom sets its own timeouts on it
        client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return client, address

    def _serving(self, ending: object = None) -> int:
        with self._peers_lock:
            self._peers = [p for p in self._peers if p is not ending and p.fileno() != -1]
            return len(self._peers)

    def _publish(self, ending: object = None) -> None:
        """Tell the other workers how many associations this one serves now."""
        serving = self._serving(ending)
        if self.shared is not None:
            self.shared.publish(serving)

    def _ended(self, event: Any) -> None:
        """An association released, aborted or rejected: its socket no longer counts."""
        self._publish(getattr(event.assoc.dul.socket, "socket", None))

    def service_actions(self) -> None:
        """Also publish finished associations (serve_forever calls this each pass)."""
        super().service_actions()
        self._publish()


def start(
    ae: AE, address: tuple[str, int], handlers: list[Any], shared: Shared | None
) -> LysbordAssociationServer:
    """Listen for ``ae`` in a thread of its own, as ``ae.start_server(block=False)`` does."""
    server = ae.make_server(
        address, evt_handlers=handlers, server_class=LysbordAssociationServer, shared=shared
    )
    ae._servers.append(server)  # so that ae.shutdown() stops it too
    thread = threading.Thread(target=server.serve_forever, name="dicom-acceptor", daemon=True)
    thread.start()
    return cast(LysbordAssociationServer, server)
