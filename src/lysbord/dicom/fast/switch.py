"""The fast paths on or off for this process (setting ``dicom_fast_paths``, DOMAIN.md §8).

They replace methods of pynetdicom's classes and globals of its modules (and two of
pydicom's settings), so they hold for every association of the process, requestors
included. Each replacement is recorded with what it replaced: ``uninstall`` puts
pynetdicom back as it was, for a door that runs plain in a process where another door
ran fast (the test suite runs both). They apply only to the pinned pynetdicom.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

import pynetdicom
from pydicom import config as pydicom_config
from pynetdicom import _config, association, dimse, dul, service_class, transport
from pynetdicom.dul import DULServiceProvider
from pynetdicom.transport import AssociationSocket, RequestHandler

from lysbord.dicom.fast import checkpoint, path, store
from lysbord.dicom.fast import dimse as fast_dimse
from lysbord.dicom.fast.internals import PINNED

log = logging.getLogger(__name__)
_lock = threading.Lock()
_replaced: list[tuple[Any, str, Any]] = []  # (owner, attribute, what it was), in order
_INHERITED = object()  # what a class had under a name it only inherited


def _changes() -> list[tuple[Any, str, Any]]:
    """(owner, attribute, new value) of each change, wrapping what is there now."""
    Dul, Assoc = DULServiceProvider, association.Association
    send_msg = dimse.DIMSEServiceProvider.send_msg
    return [
        # Values we build are ours, and queries are checked by the handlers: pydicom's
        # per-assignment validation costs a worklist answer more than its SQL.
        (pydicom_config.settings, "reading_validation_mode", pydicom_config.IGNORE),
        (pydicom_config.settings, "writing_validation_mode", pydicom_config.IGNORE),
        # pynetdicom formats every PDU and identifier for its log even when nobody reads it.
        (_config, "LOG_HANDLER_LEVEL", "none"),
        (_config, "LOG_REQUEST_IDENTIFIERS", False),
        (_config, "LOG_RESPONSE_IDENTIFIERS", False),
        (AssociationSocket, "recv", path.recv_whole),
        (Dul, "run", path.wrap_dul_run(Dul.run)),  # threading.Thread's: it runs run_reactor
        (Dul, "send_pdu", path.wrap_send_pdu(Dul.send_pdu)),
        (Dul, "_read_pdu_data", store.read_pdu(Dul._read_pdu_data)),
        (Assoc, "_run_reactor", path.wrap_reactor(Assoc._run_reactor)),
        (Assoc, "kill", path.wrap_kill(Assoc.kill)),
        (Assoc, "__init__", checkpoint.wrap_init(Assoc.__init__)),
        (transport, "deepcopy", path.copy_contexts),
        (RequestHandler, "local", property(path.listener_address)),
        (dul, "time", path.DulTime()),
        (association, "time", path.ReactorTime()),
        (dimse.DIMSEServiceProvider, "send_msg", fast_dimse.wrap_send_msg(send_msg)),
        (service_class, "encode", fast_dimse.wrap_encode(service_class.encode)),  # type: ignore[attr-defined]
    ]


def install() -> bool:
    """Apply the fast paths (once); False, and a warning, on another pynetdicom."""
    with _lock:
        if _replaced:
            return True
        if pynetdicom.__version__ != PINNED:
            log.warning(
                "pynetdicom %s is not %s: running without the fast paths",
                pynetdicom.__version__,
                PINNED,
            )
            return False
        for owner, name, value in _changes():
            _replaced.append((owner, name, _own(owner, name)))
            setattr(owner, name, value)
        return True


def uninstall() -> None:
    """Put back what ``install`` replaced, last change first (nothing if it never ran)."""
    with _lock:
        while _replaced:
            owner, name, value = _replaced.pop()
            if value is _INHERITED:
                delattr(owner, name)
            else:
                setattr(owner, name, value)


def _own(owner: Any, name: str) -> Any:
    """What ``owner`` itself holds under ``name`` (a class: not what it inherits)."""
    if isinstance(owner, type):
        return vars(owner).get(name, _INHERITED)
    return getattr(owner, name)


def turn(on: bool) -> bool:
    """The fast paths on (if this pynetdicom is the pinned one) or off; True if on now."""
    if on:
        return install()
    uninstall()
    return False
