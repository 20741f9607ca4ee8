"""The DICOM door: one pynetdicom AE, its handlers, and its listener (``fast.acceptor``).

With ``dicom_fast_paths`` on (the default) the door runs with the fast paths of
``dicom/fast/`` (DOMAIN.md §8). Off, or on a pynetdicom other than the pinned one, it
is plain pynetdicom: the same services, statuses and durability through the
``evt.EVT_*`` handlers alone. ``DicomDoor`` decides, here and nowhere else.
"""

from __future__ import annotations

import time
from functools import partial
from typing import Any

from pynetdicom import AE, evt

from lysbord.dicom import commitment, mpps, peers, query, retrieve, store, worklist
from lysbord.dicom.deps import DoorDeps, Handler, Installer
from lysbord.dicom.encoding import as_datasets
from lysbord.dicom.fast import acceptor, switch
from lysbord.dicom.fast import store as fast_store
from lysbord.dicomcodec.meta import IMPLEMENTATION_UID, IMPLEMENTATION_VERSION
from lysbord.services.core.context import Context
from lysbord.sharing import Shared
from lysbord.store.blobs import BlobStore

VERIFICATION = "1.2.840.10008.1.1"


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


def make_ae(deps: DoorDeps, fast: bool) -> tuple[AE, list[Handler]]:
    """The door's AE and handlers, with the fast paths (``fast``) or plain pynetdicom."""
    ae = AE(ae_title=deps.ctx.settings.ae_title)
    ae.implementation_class_uid = IMPLEMENTATION_UID
    ae.implementation_version_name = IMPLEMENTATION_VERSION
    ae.maximum_pdu_size = 0  # unlimited: storescu then sends 128 KB PDUs, not 16 KB ones
    ae.maximum_associations = 64
    ae.network_timeout = 60
    ae.acse_timeout = 30
    ae.dimse_timeout = 60
    handlers = [h for install in INSTALLERS for h in install(ae, deps)]
    if not fast:
        return ae, [_plain(h) for h in handlers]
    fast_store.enable(ae, partial(store.receive, deps.ctx, deps.blobs, deps.ids))
    return ae, handlers


def _plain(handler: Handler) -> Handler:
    """Plain pynetdicom encodes Datasets only: C-FIND answers become Datasets."""
    if handler[0] != evt.EVT_C_FIND:
        return handler
    return (handler[0], as_datasets(handler[1]), *handler[2:])


class DicomDoor:
    """The DICOM listener of one process; started and stopped with the others."""

    def __init__(self, ctx: Context, shared: Shared | None = None) -> None:
        self.ctx = ctx
        self.shared = shared  # from ``lysbord serve``; None: bind the configured port
        # The fast paths change pynetdicom for the whole process: on or off here.
        self.fast = switch.turn(ctx.settings.dicom_fast_paths)
        self.deps = DoorDeps(ctx, BlobStore(ctx.settings.data_dir / "blobs"))
        self.ae, self._handlers = make_ae(self.deps, self.fast)
        self._server: acceptor.LysbordAssociationServer | None = None

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("the DICOM door is not started")
        return int(self._server.server_address[1])

    def start(self) -> None:
        s = self.ctx.settings
        address = (s.dicom_host, s.dicom_port)
        self._server = acceptor.start(self.ae, address, self._handlers, self.shared)
        self.deps.listening.set()

    def stop(self, grace: float = 5.0) -> None:
        """Stop listening; give associations in progress ``grace`` seconds, then abort them."""
        deadline = time.monotonic() + grace
        while self.ae.active_associations and time.monotonic() < deadline:
            time.sleep(0.05)
        self._server = None
        self.deps.listening.clear()
        self.ae.shutdown()
        for stop in self.deps.on_stop:
            stop()
