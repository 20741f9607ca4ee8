"""The DICOM door: one pynetdicom AE, its handlers, and a listening socket per process.

Each DICOM worker process binds the same port with SO_REUSEPORT, so the kernel
spreads associations over the processes (DOMAIN.md §8: threads alone stay below
Orthanc with parallel associations). Accepted sockets get TCP_NODELAY: without it
every small DIMSE message waits for Nagle's algorithm.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable
from typing import Any, cast

from pynetdicom import AE, evt
from pynetdicom.transport import ThreadedAssociationServer

from lysbord.dicom import commitment, fastpath, mpps, peers, query, retrieve, store, worklist
from lysbord.dicom.deps import DoorDeps, Handler, Installer
from lysbord.dicom.meta import IMPLEMENTATION_UID, IMPLEMENTATION_VERSION
from lysbord.services.context import Context
from lysbord.store.blobs import BlobStore

VERIFICATION = "1.2.840.10008.1.1"


class LysbordAssociationServer(ThreadedAssociationServer):
    """pynetdicom's server with SO_REUSEPORT on the listener and TCP_NODELAY on each peer."""

    def server_bind(self) -> None:
        cast(socket.socket, self.socket).setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        super().server_bind()

    def get_request(self) -> tuple[socket.socket, tuple[str, int]]:
        client, address = super().get_request()
        client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return client, address


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

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        fastpath.install()
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
