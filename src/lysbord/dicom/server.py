"""The DICOM door: one pynetdicom AE, its handlers, and the listening socket.

``lysbord serve`` binds the port once and its DICOM worker processes all accept on
that socket (DOMAIN.md §8: threads alone stay below Orthanc with parallel
associations), the least busy taking the next association (``lysbord.sharing``):
four storescu connecting at once get two workers each. Accepted sockets get
TCP_NODELAY: without it every small DIMSE message waits for Nagle's algorithm.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable
from typing import Any, cast

from pynetdicom import AE, evt
from pynetdicom.transport import ThreadedAssociationServer

from lysbord.dicom import commitment, mpps, peers, query, retrieve, store, worklist
from lysbord.dicom.deps import DoorDeps, Handler, Installer
from lysbord.dicom.fast import path as fast_path
from lysbord.dicomcodec.meta import IMPLEMENTATION_UID, IMPLEMENTATION_VERSION
from lysbord.services.core.context import Context
from lysbord.sharing import YIELD_FOR, Shared
from lysbord.store.blobs import BlobStore

VERIFICATION = "1.2.840.10008.1.1"


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


def _install_echo(ae: AE, deps: DoorDeps) -> list[Handler]:
    ae.add_supported_context(VERIFICATION)
    return [(evt.EVT_C_ECHO, _echo)]


def _echo(event: Any) -> int:
    return 0x0000


# Every DICOM service this door offers; each adds its contexts and returns its handlers.
INSTALLERS: tuple[Installer, ...] = (
    _install_echo,
    store.install,
    peers.install,  # refuses unknown calling AE titles (EVT_REQUESTED)
    commitment.install,
    worklist.install,  # Modality Worklist C-FIND
    mpps.install,  # MPPS N-CREATE / N-SET
    query.install,  # Q/R C-FIND; after worklist: it routes MWL C-FINDs there
    retrieve.install,  # C-MOVE / C-GET; after store: it sets the storage SCP role
)


def make_ae(deps: DoorDeps) -> tuple[AE, list[Handler]]:
    ae = AE(ae_title=deps.ctx.settings.ae_title)
    ae.implementation_class_uid = IMPLEMENTATION_UID
    ae.implementation_version_name = IMPLEMENTATION_VERSION
    ae.maximum_pdu_size = 0  # unlimited: storescu then sends 128 KB PDUs, not 16 KB ones
    ae.maximum_associations = 64
    ae.network_timeout = 60
    ae.acse_timeout = 30
    ae.dimse_timeout = 60
    handlers = [h for install in INSTALLERS for h in install(ae, deps)]
    return ae, handlers


class DicomDoor:
    """The DICOM listener of one process; started and stopped with the others."""

    def __init__(self, ctx: Context, shared: Shared | None = None) -> None:
        self.ctx = ctx
        self.shared = shared  # from ``lysbord serve``; None: bind the configured port
        fast_path.install()
        self.deps = DoorDeps(ctx, BlobStore(ctx.settings.data_dir / "blobs"))
        self.ae, self._handlers = make_ae(self.deps)
        self._server: ThreadedAssociationServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("the DICOM door is not started")
        return int(self._server.server_address[1])

    def start(self) -> None:
        s = self.ctx.settings
        self._server = self.ae.make_server(
            (s.dicom_host, s.dicom_port),
            evt_handlers=self._handlers,
            server_class=LysbordAssociationServer,
            shared=self.shared,
        )
        self.ae._servers.append(self._server)  # so that ae.shutdown() stops it too
        serve: Callable[[], None] = self._server.serve_forever
        self._thread = threading.Thread(target=serve, name="dicom-acceptor", daemon=True)
        self._thread.start()

    def stop(self, grace: float = 5.0) -> None:
        """Stop listening; give associations in progress ``grace`` seconds, then abort them."""
        deadline = time.monotonic() + grace
        while self.ae.active_associations and time.monotonic() < deadline:
            time.sleep(0.05)
        self._server = None
        self.ae.shutdown()
        for stop in self.deps.on_stop:
            stop()
