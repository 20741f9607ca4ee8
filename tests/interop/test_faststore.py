"""C-STOREs served on the DUL thread (``dicom.fast.store``), and what it leaves to pynetdicom.

Most tests send P-DATA-TF PDUs built here, byte by byte, over an association that
pynetdicom opened: so the command can be cut where no toolkit would cut it, and a
data set can be broken off in the middle.
"""

from __future__ import annotations

import struct
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from pydicom import Dataset
from pydicom.uid import ExplicitVRLittleEndian
from pynetdicom import AE, evt
from pynetdicom.association import Association
from pynetdicom.dimse_primitives import C_STORE

from lysbord.dicom.fast import dimse, store
from lysbord.dicom.server import DicomDoor
from lysbord.services.core.context import Context
from tests.dicomdata import CT, ct_series
from tests.helpers import random_cpr
from tests.interop.test_store import assert_kept, storescu
from tests.interop.test_store_errors import ct, encoded, indexed

MR = "1.2.840.10008.5.1.4.1.1.4"
Pdv = tuple[int, bytes]  # (presentation context ID, control header + fragment)


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The SOP Instance UIDs that fast.store served (rather than pynetdicom)."""
    seen: list[str] = []
    serve = store._serve

    def spy(dul: Any, store: Any, image: store.Image) -> None:
        seen.append(image.sop_instance)
        serve(dul, store, image)

    monkeypatch.setattr(store, "_serve", spy)
    return seen


@pytest.fixture
def assoc(door: DicomDoor) -> Iterator[Association]:
    ae = AE(ae_title="RAWSCU")
    ae.add_requested_context(CT, ExplicitVRLittleEndian)
    assoc = ae.associate("127.0.0.1", door.port, ae_title="LYSBORD")
    assert assoc.is_established
    yield assoc
    if assoc.is_established:
        assoc.release()


def command(ds: Dataset, message_id: int = 1, sop_class: str = CT) -> bytes:
    request = C_STORE()
    request.MessageID = message_id
    request.AffectedSOPClassUID = sop_class
    request.AffectedSOPInstanceUID = ds.SOPInstanceUID
    request.Priority = 0
    encoded = dimse.command_set("C-STORE-RQ", request, True)
    assert encoded is not None
    return encoded


def send_pdus(assoc: Association, pdus: list[list[Pdv]]) -> None:
    """Each list of PDVs as one P-DATA-TF, exactly as given (PS3.8 9.3.5)."""
    assert assoc.dul.socket is not None
    for pdvs in pdus:
        items = b"".join(struct.pack(">LB", len(v) + 1, cx) + v for cx, v in pdvs)
        assoc.dul.socket.send(struct.pack(">BBL", 0x04, 0, len(items)) + items)


@contextmanager
def paused(assoc: Association) -> Iterator[None]:
    """Keep the requestor's reactor off the response queue, as pynetdicom's send_* do."""
    assoc._reactor_checkpoint.clear()
    while not assoc._is_paused:
        time.sleep(0.0001)
    try:
        yield
    finally:
        assoc._reactor_checkpoint.set()


def response(assoc: Association, pdus: list[list[Pdv]]) -> Any:
    with paused(assoc):
        send_pdus(assoc, pdus)
        _, rsp = assoc.dimse.get_msg(block=True)
    assert rsp is not None, "no response: the association failed"
    return rsp


def assert_stored(ctx: Context, rsp: Any, ds: Dataset, message_id: int) -> None:
    assert (rsp.Status, rsp.MessageIDBeingRespondedTo) == (0x0000, message_id)
    assert rsp.AffectedSOPInstanceUID == ds.SOPInstanceUID
    assert ds.SOPInstanceUID in indexed(ctx)


def test_data_set_in_many_pdus_is_served_here(
    ctx: Context, assoc: Association, served: list[str]
) -> None:
    ds = ct()
    cx = assoc.accepted_contexts[0].context_id
    data = encoded(ds)
    pieces = [data[i : i + 100] for i in range(0, len(data), 100)]
    pdus: list[list[Pdv]] = [[(cx, b"\x03" + command(ds))]]
    pdus += [
        [(cx, (b"\x02" if i == len(pieces) - 1 else b"\x00") + p)] for i, p in enumerate(pieces)
    ]
    assert_stored(ctx, response(assoc, pdus), ds, 1)
    assert served == [ds.SOPInstanceUID]


def test_command_in_two_fragments_goes_pynetdicoms_way(
    ctx: Context, assoc: Association, served: list[str]
) -> None:
    ds = ct()
    cx = assoc.accepted_contexts[0].context_id
    cmd = command(ds, message_id=7)
    pdus: list[list[Pdv]] = [
        [(cx, b"\x01" + cmd[:20]), (cx, b"\x03" + cmd[20:]), (cx, b"\x02" + encoded(ds))]
    ]
    assert_stored(ctx, response(assoc, pdus), ds, 7)
    assert served == []


def test_a_class_other_than_the_contexts_goes_pynetdicoms_way(
    ctx: Context, assoc: Association, served: list[str]
) -> None:
    ds = ct()
    cx = assoc.accepted_contexts[0].context_id
    pdus: list[list[Pdv]] = [
        [(cx, b"\x03" + command(ds, sop_class=MR)), (cx, b"\x02" + encoded(ds))]
    ]
    rsp = response(assoc, pdus)
    assert (rsp.Status, rsp.ErrorComment) == (0xA900, "SOPClassUID differs from the request")
    assert served == []
    assert ds.SOPInstanceUID not in indexed(ctx)


def test_a_data_set_broken_off_by_a_command_aborts(
    ctx: Context, assoc: Association, served: list[str]
) -> None:
    first, second = ct(), ct()
    cx = assoc.accepted_contexts[0].context_id
    send_pdus(
        assoc,
        [
            [(cx, b"\x03" + command(first)), (cx, b"\x00" + encoded(first)[:100])],
            [(cx, b"\x03" + command(second, message_id=2))],
        ],
    )
    deadline = time.monotonic() + 10
    while not assoc.is_aborted and time.monotonic() < deadline:
        time.sleep(0.01)
    assert assoc.is_aborted
    assert served == []
    assert not {first.SOPInstanceUID, second.SOPInstanceUID} & indexed(ctx)


def test_storescu_with_small_pdus(
    ctx: Context, door: DicomDoor, tmp_path: Path, served: list[str]
) -> None:
    """4 KB PDUs: a 256×256 CT arrives in about 32 of them."""
    path = ct_series(tmp_path, 1, patient_id=random_cpr(), size=256)[0]
    result = storescu(door, "--max-send-pdu", "4096", str(path))
    assert result.returncode == 0, result.stderr
    assert len(served) == 1
    assert_kept(ctx, path, ExplicitVRLittleEndian)


@pytest.mark.parametrize(
    ("event", "name_of", "expected"),
    [
        (evt.EVT_DIMSE_RECV, lambda e: type(e.message).__name__, "C_STORE_RQ"),
        (evt.EVT_PDU_SENT, lambda e: type(e.pdu).__name__, "P_DATA_TF"),
    ],
    ids=["received messages", "sent PDUs"],
)
def test_a_listener_to_what_faststore_bypasses_sees_everything(
    ctx: Context,
    door: DicomDoor,
    tmp_path: Path,
    served: list[str],
    event: Any,
    name_of: Any,
    expected: str,
) -> None:
    """Who listens to received messages or sent PDUs must see each C-STORE request and
    answer: pynetdicom's way."""
    seen: list[str] = []
    assert door._server is not None
    door._server.bind(event, lambda e: seen.append(name_of(e)))
    path = ct_series(tmp_path, 1, patient_id=random_cpr())[0]
    result = storescu(door, str(path))
    assert result.returncode == 0, result.stderr
    assert expected in seen and served == []
    assert_kept(ctx, path, ExplicitVRLittleEndian)


def test_answer_comments_are_ascii() -> None:
    image = store.Image(1, 5, CT, "1.2.3")
    failed = Dataset()
    failed.Status = 0xA900
    failed.ErrorComment = "Åse Sørensen"
    assert store.answer(image, failed).ErrorComment == "?se S?rensen"
    ok = store.answer(image, 0)
    assert (ok.Status, ok.ErrorComment, ok.MessageIDBeingRespondedTo) == (0, None, 5)
