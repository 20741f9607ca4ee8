"""DIMSE messages we send, encoded by hand instead of through pydicom (DOMAIN.md §8).

pynetdicom 3.0.4 turns every outgoing primitive into a pydicom command Dataset,
encodes it twice (once for its group length) and sends the command and the data
set as separate PDUs. For a C-STORE or C-FIND response that is most of the CPU the
door spends per message. Here the command set (PS3.7 6.3.1, Implicit VR Little
Endian, group 0000 only) is written straight from the primitive, with the same
elements, in the same order, as pynetdicom would write, and a message that fits
one PDU goes out as one P-DATA-TF with two PDVs (PS3.8 9.3.5: a PDU holds one or
more PDVs). Anything unusual (an AT or multi-valued element, a non-ASCII comment, a
data set in a file, a handler bound to EVT_DIMSE_SENT) goes pynetdicom's own way.

C-FIND answers built by ``lysbord.dicom.encoding`` reach the wire as the bytes they
already are: pynetdicom's ``encode`` passes them through.
"""

from __future__ import annotations

import struct
from io import BytesIO
from typing import Any

from pydicom.datadict import dictionary_VR, tag_for_keyword
from pynetdicom import dimse, dimse_messages, evt
from pynetdicom.pdu_primitives import P_DATA

from lysbord.dicom.encoding import Prebuilt

_COMMAND_FIELDS = {name: field for field, (name, _) in dimse_messages._MESSAGE_TYPES.items()}
_TEXT_PADDING = {"UI": b"\x00", "AE": b" ", "CS": b" ", "SH": b" ", "LO": b" ", "LT": b" "}
_NO_DATA_SET, _DATA_SET = 0x0101, 0x0001


def _layout(keywords: tuple[str, ...]) -> list[tuple[str, int, bytes, str]]:
    """(keyword, tag, encoded tag, VR) of a command set's elements, in tag order."""
    rows = []
    for keyword in keywords:
        tag = tag_for_keyword(keyword)
        if tag is None:
            raise KeyError(keyword)
        rows.append((keyword, tag, struct.pack("<HH", tag >> 16, tag & 0xFFFF), dictionary_VR(tag)))
    return sorted(rows, key=lambda row: row[1])


_LAYOUTS = {name: _layout(kws) for name, kws in dimse_messages._COMMAND_SET_KEYWORDS.items()}


def _value(vr: str, value: Any) -> bytes | None:
    """One element value as Implicit VR LE bytes; None if this encoder does not handle it."""
    if vr == "US" and isinstance(value, int):
        return struct.pack("<H", value)
    if vr == "UL" and isinstance(value, int):
        return struct.pack("<I", value)
    pad = _TEXT_PADDING.get(vr)
    if pad is None or not isinstance(value, str) or not value.isascii():
        return None
    raw = value.encode("ascii")
    return raw + pad if len(raw) % 2 else raw


def command_set(message: str, primitive: Any, has_data_set: bool) -> bytes | None:
    """The encoded command set of ``message`` (``C-STORE-RSP``...) for ``primitive``."""
    body = []
    for keyword, _tag, tag_bytes, vr in _LAYOUTS[message][1:]:  # (0000,0000) comes last
        if keyword == "CommandField":
            value: Any = _COMMAND_FIELDS[message]
        elif keyword == "CommandDataSetType":
            value = _DATA_SET if has_data_set else _NO_DATA_SET
        elif not hasattr(primitive, keyword):
            value = ""  # pynetdicom keeps such an element, empty
        else:
            value = getattr(primitive, keyword)
            if value is None:
                continue
        encoded = b"" if value == "" else _value(vr, value)
        if encoded is None:
            return None
        body += [tag_bytes, struct.pack("<I", len(encoded)), encoded]
    rest = b"".join(body)
    return b"\x00\x00\x00\x00\x04\x00\x00\x00" + struct.pack("<I", len(rest)) + rest


def _message_name(primitive: Any) -> str:
    table = (
        dimse._RQ_TO_MESSAGE
        if primitive.MessageIDBeingRespondedTo is None
        else dimse._RSP_TO_MESSAGE
    )
    return str(table[type(primitive)].__name__)


def _data_set(name: str, primitive: Any) -> bytes | None:
    """The message's encoded data set (b"" if none); None if it is not in memory."""
    if getattr(primitive, "_dataset_path", None) is not None:
        return None
    keyword = dimse_messages._DATASET_KEYWORDS.get(name)
    value = getattr(primitive, keyword, None) if keyword else None
    if not value:
        return b""
    return value.getvalue() if isinstance(value, BytesIO) else None


def pdus(primitive: Any, context_id: int, max_pdu: int) -> list[P_DATA] | None:
    """The P-DATA primitives carrying ``primitive``; None to leave it to pynetdicom."""
    name = _message_name(primitive)
    data = _data_set(name, primitive)
    if data is None:
        return None
    command = command_set(name.replace("_", "-"), primitive, bool(data))
    if command is None or (max_pdu and len(command) + 6 > max_pdu):
        return None
    first = P_DATA()
    first.presentation_data_value_list.append((context_id, b"\x03" + command))
    if not data:
        return [first]
    if not max_pdu or len(command) + len(data) + 12 <= max_pdu:
        first.presentation_data_value_list.append((context_id, b"\x02" + data))
        return [first]
    out = [first]
    step = max_pdu - 6
    for start in range(0, len(data), step):
        pdata = P_DATA()
        last = start + step >= len(data)
        pdata.presentation_data_value_list.append(
            (context_id, (b"\x02" if last else b"\x00") + data[start : start + step])
        )
        out.append(pdata)
    return out


def wrap_send_msg(original: Any) -> Any:
    def send_msg(self: dimse.DIMSEServiceProvider, primitive: Any, context_id: int) -> None:
        found = None
        if not self.assoc.get_handlers(evt.EVT_DIMSE_SENT):
            found = pdus(primitive, context_id, self.maximum_pdu_size)
        if found is None:
            original(self, primitive, context_id)
            return
        for pdata in found:
            self.dul.send_pdu(pdata)

    return send_msg


def wrap_encode(original: Any) -> Any:
    def encode(
        ds: Any, is_implicit_vr: bool, is_little_endian: bool, deflated: bool = False
    ) -> Any:
        if isinstance(ds, Prebuilt):
            if is_little_endian and not deflated:
                return ds.encode(implicit=is_implicit_vr)
            ds = ds.to_dataset()
        return original(ds, is_implicit_vr, is_little_endian, deflated)

    return encode
