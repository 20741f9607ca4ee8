"""C-STORE requests served where they are read: on the association's DUL thread.

pynetdicom 3.0.4 turns each P-DATA-TF into PDU and primitive objects, runs it
through its state machine, decodes the command set with pydicom, queues the whole
message for the association's reactor thread, and that thread queues the answer
back: per CT image about half of the door's CPU and two thread hand-offs. A
storage SCU waits for each answer before it sends the next image, so the hand-offs
buy no overlap. Here, in state Sta6 (data transfer) of an association we accepted,
a P-DATA-TF is read as bytes: a C-STORE-RQ command in one PDV starts an image, its
data fragments are gathered, the door's store function runs on this thread and its
answer goes out from here, as the one P-DATA-TF that DT-1 would send, unless
something else waits to be sent first (then it is queued behind it). Everything
else (other commands, a command split over PDVs, a listener bound to the events
this bypasses) goes pynetdicom's own way, from the bytes already read.
"""

from __future__ import annotations

import logging
import struct
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pydicom import Dataset
from pynetdicom import evt
from pynetdicom.dul import DULServiceProvider
from pynetdicom.pdu_primitives import P_DATA

from lysbord.dicom.fast import dimse, reading

log = logging.getLogger(__name__)

# (calling AE title, SOP class, SOP instance, transfer syntax, data set) -> status
StoreFunction = Callable[[str, str, str, str, bytes], "int | Dataset"]

_C_STORE_RQ, _NO_DATA_SET = 0x0001, 0x0101
_EXCEPTION_IN_HANDLER = 0xC211  # what pynetdicom answers when a handler raises
# Events pynetdicom would trigger on the way that this module takes instead.
_BYPASSED_EVENTS = (
    evt.EVT_DATA_RECV,
    evt.EVT_PDU_RECV,
    evt.EVT_DIMSE_RECV,
    evt.EVT_PDU_SENT,
    evt.EVT_DIMSE_SENT,
    evt.EVT_FSM_TRANSITION,
)
_PDU_TYPES = range(0x01, 0x08)


def enable(ae: Any, store: StoreFunction) -> None:
    """Serve C-STORE requests to ``ae``'s associations with ``store`` (see the module)."""
    ae._lysbord_store = store


@dataclass(slots=True)
class Image:
    """A C-STORE-RQ whose data set is still arriving."""

    context_id: int
    message_id: int
    sop_class: str
    sop_instance: str
    chunks: list[memoryview] = field(default_factory=list)


@dataclass(slots=True)
class _Answer:
    """The fields of a C-STORE-RSP, as ``dimse.command_set`` reads a primitive's."""

    AffectedSOPClassUID: str
    MessageIDBeingRespondedTo: int
    AffectedSOPInstanceUID: str
    Status: int
    ErrorComment: str | None = None
    OffendingElement: None = None


def read_pdu(original: Callable[[DULServiceProvider], None]) -> Callable[..., None]:
    """Wrap ``DULServiceProvider._read_pdu_data`` (installed by ``fast.switch``)."""

    def _read_pdu_data(self: DULServiceProvider) -> None:
        store = _store_of(self)
        if store is None or self.state_machine.current_state != "Sta6":
            original(self)
            return
        pdu = _read_exactly(self)
        if pdu is None:
            self.event_queue.put("Evt17")  # the peer closed the connection mid-PDU
        elif pdu[0] != 0x04 or not _take(self, store, memoryview(pdu)[6:]):
            _decode(self, pdu)

    return _read_pdu_data


def _store_of(dul: DULServiceProvider) -> StoreFunction | None:
    """The door's store function if this association may use the fast path, else None."""
    try:
        return dul._lysbord_store  # type: ignore[attr-defined,no-any-return]
    except AttributeError:
        pass
    assoc = dul.assoc
    store = getattr(assoc.ae, "_lysbord_store", None) if assoc.is_acceptor else None
    if any(assoc.get_handlers(event) for event in _BYPASSED_EVENTS):
        store = None  # somebody wants to see each PDU, message or step: pynetdicom's way
    dul._lysbord_store = store  # type: ignore[attr-defined]
    dul._lysbord_image = None  # type: ignore[attr-defined]
    return store


def _read_exactly(dul: DULServiceProvider) -> bytearray | None:
    """One whole PDU from the socket, or None if the connection ended first."""
    sock = dul.socket
    if sock is None:
        return None
    try:
        head = sock.recv(6)
        if len(head) < 6:
            return None
        length = struct.unpack_from(">L", head, 2)[0]
        pdu = reading.receive(sock.socket, length, head)
    except (OSError, TimeoutError):
        return None
    return pdu if len(pdu) == 6 + length else None


def _decode(dul: DULServiceProvider, pdu: bytearray) -> None:
    """The rest of pynetdicom's ``_read_pdu_data`` for a PDU this module does not take."""
    if pdu[0] not in _PDU_TYPES:
        log.error("unknown PDU type received 0x%02X", pdu[0])
        dul.event_queue.put("Evt19")
        return
    try:
        decoded, event = dul._decode_pdu(pdu)
    except Exception:
        log.exception("unable to decode the received PDU")
        dul.event_queue.put("Evt19")
        return
    dul.event_queue.put(event)
    dul._recv_pdu.put(decoded)


def _take(dul: DULServiceProvider, store: StoreFunction, items: memoryview) -> bool:
    """Handle a P-DATA-TF's items if they carry (part of) a C-STORE-RQ; False if not ours."""
    pdvs = _pdvs(items)
    image: Image | None = dul._lysbord_image  # type: ignore[attr-defined]
    if pdvs is None:
        return image is not None and _abort(dul, "malformed P-DATA-TF")
    if image is None:
        image = _start(dul, pdvs[0])
        if image is None:
            return False
        dul._lysbord_image = image  # type: ignore[attr-defined]
        pdvs = pdvs[1:]
    for context_id, value in pdvs:
        if context_id != image.context_id or value[0] & 1:
            return _abort(dul, "a C-STORE-RQ's data set was interrupted")
        image.chunks.append(value[1:])
        if value[0] & 2:  # the last fragment
            dul._lysbord_image = None  # type: ignore[attr-defined]
            _serve(dul, store, image)
    return True


def _pdvs(items: memoryview) -> list[tuple[int, memoryview]] | None:
    """(context ID, control header + fragment) of each PDV item (PS3.8 9.3.5.1)."""
    pdvs, at = [], 0
    while at < len(items):
        if at + 6 > len(items):
            return None
        length = struct.unpack_from(">L", items, at)[0]
        if length < 2 or at + 4 + length > len(items):
            return None
        pdvs.append((items[at + 4], items[at + 5 : at + 4 + length]))
        at += 4 + length
    return pdvs or None


def _start(dul: DULServiceProvider, pdv: tuple[int, memoryview]) -> Image | None:
    """A new image if ``pdv`` is a whole C-STORE-RQ command with a data set, else None."""
    context_id, value = pdv
    if value[0] & 3 != 3 or dul.assoc.dimse.message is not None:
        return None  # not a whole command, or pynetdicom is assembling a message already
    command = _elements(value[1:])
    if (
        command is None
        or _us(command.get(0x0100)) != _C_STORE_RQ
        or _us(command.get(0x0800)) in (None, _NO_DATA_SET)
        or context_id not in dul.assoc._accepted_cx
    ):
        return None
    message_id = _us(command.get(0x0110))
    sop_class, sop_instance = _ui(command.get(0x0002)), _ui(command.get(0x1000))
    if message_id is None or not sop_instance:
        return None  # pynetdicom's decoder says what is wrong with it
    if dul.assoc._accepted_cx[context_id].abstract_syntax != sop_class:
        return None  # not what the context was negotiated for: pynetdicom decides
    return Image(context_id, message_id, sop_class, sop_instance)


def _elements(command: memoryview) -> dict[int, memoryview] | None:
    """A command set's elements (group 0000, Implicit VR Little Endian) by element number."""
    found, at = {}, 0
    while at < len(command):
        if at + 8 > len(command):
            return None
        group, element, length = struct.unpack_from("<HHL", command, at)
        if group != 0 or at + 8 + length > len(command):
            return None
        found[element] = command[at + 8 : at + 8 + length]
        at += 8 + length
    return found


def _us(value: memoryview | None) -> int | None:
    return struct.unpack("<H", value)[0] if value is not None and len(value) == 2 else None


def _ui(value: memoryview | None) -> str:
    return bytes(value).rstrip(b"\x00 ").decode("ascii", "replace") if value is not None else ""


def _serve(dul: DULServiceProvider, store: StoreFunction, image: Image) -> None:
    """Store the image and send the answer; the same statuses as pynetdicom's SCP."""
    assoc = dul.assoc
    context = assoc._accepted_cx[image.context_id]
    data = b"".join(image.chunks)
    image.chunks.clear()
    try:
        result = store(
            assoc.requestor.ae_title,
            image.sop_class,
            image.sop_instance,
            str(context.transfer_syntax[0]),
            data,
        )
    except Exception:
        log.exception("exception in the C-STORE handler")
        result = _EXCEPTION_IN_HANDLER
    if not assoc.is_established:
        return
    command = dimse.command_set("C-STORE-RSP", answer(image, result), False)
    if command is None:
        raise ValueError(f"cannot encode the C-STORE-RSP for {image.sop_instance}")
    pdv = b"\x03" + command  # the last (and only) fragment of a command
    if dul.to_provider_queue.empty() and dul.socket is not None:
        # What DT-1 would send (PS3.8 9.3.5): nothing queued may go first, and only this
        # thread writes to the socket.
        head = struct.pack(">BBLLB", 0x04, 0, 5 + len(pdv), 1 + len(pdv), image.context_id)
        dul.socket.send(head + pdv)
        return
    pdata = P_DATA()
    pdata.presentation_data_value_list.append((image.context_id, pdv))
    dul.send_pdu(pdata)


def answer(image: Image, result: int | Dataset) -> _Answer:
    """The C-STORE-RSP for ``image`` given what the store function returned."""
    if isinstance(result, int):
        return _Answer(image.sop_class, image.message_id, image.sop_instance, result)
    comment = result.get("ErrorComment")
    if comment is not None:  # a command set has no character set of its own: ASCII only
        comment = str(comment).encode("ascii", "replace").decode("ascii")
    return _Answer(image.sop_class, image.message_id, image.sop_instance, result.Status, comment)


def _abort(dul: DULServiceProvider, why: str) -> bool:
    """A broken P-DATA stream ends the association (Evt19: A-ABORT to the peer)."""
    log.warning("aborting the association from %s: %s", dul.assoc.requestor.ae_title, why)
    dul._lysbord_image = None  # type: ignore[attr-defined]
    dul.event_queue.put("Evt19")
    return True
