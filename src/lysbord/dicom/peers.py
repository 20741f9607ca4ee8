"""Who may talk to the archive: known peers, refused strangers, per-service permissions.

An association from a calling AE title that is not in ``dicom_peers`` is rejected
before any presentation context is looked at (A-ASSOCIATE-RJ, rejected-permanent,
DICOM UL service-user, reason 3 "calling-AE-title-not-recognized", PS3.8 9.3.4),
unless ``dicom_allow_any_peer`` is set. A known peer may still lack a permission:
its requests for that service get 0x0124 "Refused: Not authorized" (PS3.7 Annex C),
a general status every DIMSE service may return.

pynetdicom's ``ae.require_calling_aet`` would do the rejection too, but an empty
list there means "accept everyone", the opposite of an empty ``dicom_peers``; so
the check runs in EVT_REQUESTED, which pynetdicom provides for exactly this
(``Association.run_reactor`` skips negotiation once the handler rejected).
"""

from __future__ import annotations

import logging
from typing import Any, Literal

from pydicom import Dataset
from pynetdicom import AE, evt
from pynetdicom.events import Event

from lysbord.config import DicomPeer, Settings
from lysbord.dicom.deps import DoorDeps, Handler
from lysbord.services.core.context import Context

log = logging.getLogger(__name__)

Permission = Literal["store", "query", "retrieve", "worklist", "mpps", "commitment"]
NOT_AUTHORISED = 0x0124  # PS3.7 Annex C: Refused: Not Authorized
REJECTED_PERMANENT, SERVICE_USER, CALLING_AE_NOT_RECOGNISED = 0x01, 0x01, 0x03  # PS3.8 9.3.4


def find_peer(settings: Settings, ae_title: str) -> DicomPeer | None:
    """The configured peer with this AE title (spaces around it are not significant)."""
    title = ae_title.strip()
    return next((p for p in settings.dicom_peers if p.ae_title == title), None)


def known(settings: Settings, ae_title: str) -> bool:
    """May this calling AE associate at all?"""
    return settings.dicom_allow_any_peer or find_peer(settings, ae_title) is not None


def allowed(ctx: Context, ae_title: str, permission: Permission) -> bool:
    """May this calling AE use this service? Call it first thing in a DIMSE handler.

    A configured peer has exactly the permissions its flags give, even when
    ``dicom_allow_any_peer`` is set; an unknown AE is allowed everything only then.
    """
    peer = find_peer(ctx.settings, ae_title)
    if peer is None:
        return ctx.settings.dicom_allow_any_peer
    return bool(getattr(peer, permission))


def refused(ae_title: str, permission: Permission) -> Dataset:
    """The status to answer with when ``allowed`` said no (0x0124 with an Error Comment)."""
    ds = Dataset()
    ds.Status = NOT_AUTHORISED
    ds.ErrorComment = f"AE {ae_title.strip()!r} lacks permission '{permission}'"[:64]
    return ds


def destination(ctx: Context, ae_title: str) -> tuple[str, int] | None:
    """Where to connect to reach this AE (a C-MOVE destination, a commitment report).

    Only configured peers have an address; ``None`` means "unknown destination"
    (C-MOVE answers 0xA801, PS3.4 C.4.2.1.5).
    """
    peer = find_peer(ctx.settings, ae_title)
    return None if peer is None else (peer.host, peer.port)


def install(ae: AE, deps: DoorDeps) -> list[Handler]:
    """No presentation contexts of its own: only the association check."""
    return [(evt.EVT_REQUESTED, check_calling_ae, [deps.ctx.settings])]


def check_calling_ae(event: Event, settings: Settings) -> None:
    """Reject the association now if the calling AE title is not a known peer."""
    assoc: Any = event.assoc
    calling = str(assoc.requestor.primitive.calling_ae_title)
    if known(settings, calling):
        return
    log.warning(
        "association from %r at %s refused: not a configured peer",
        calling.strip(),
        assoc.requestor.address,
    )
    assoc.acse.send_reject(REJECTED_PERMANENT, SERVICE_USER, CALLING_AE_NOT_RECOGNISED)
    evt.trigger(assoc, evt.EVT_REJECTED, {})
    assoc.kill()
