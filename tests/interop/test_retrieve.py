"""C-MOVE and C-GET from the archive: DCMTK's movescu into a storescp, getscu into a folder.

The door here knows one peer, DEST: a storescp this module starts on a free port.
Refusals go through pynetdicom on one association, which must stay usable after each.
"""

from __future__ import annotations

import re
import socket
import struct
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from pydicom import Dataset, dcmread
from pydicom.uid import generate_uid
from pynetdicom import AE
from pynetdicom.association import Association
from pynetdicom.sop_class import (  # type: ignore[attr-defined]
    PatientRootQueryRetrieveInformationModelMove,
    StudyRootQueryRetrieveInformationModelFind,
    StudyRootQueryRetrieveInformationModelGet,
    StudyRootQueryRetrieveInformationModelMove,
)
from sqlalchemy import select

from lysbord.config import DicomPeer
from lysbord.dicom.server import DicomDoor
from lysbord.services.core.context import Context
from lysbord.store.archive_models import Instance, Study
from lysbord.store.blobs import BlobStore
from tests.helpers import random_cpr
from tests.interop.conftest import DCMTK_ENV, MakeDoor, dcmtk, plain_too
from tests.interop.test_query import Stored, findscu, store_archive

DEST, NOQR = "DEST", "NOQR"  # NOQR: a known peer without query and retrieve permissions


@dataclass
class Receiver:
    port: int
    folder: Path

    def received(self) -> dict[str, Dataset]:
        return {ds.SOPInstanceUID: ds for ds in map(dcmread, self.folder.iterdir())}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_listening(port: int, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and proc.poll() is None:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"storescp did not listen on {port}")


@pytest.fixture
def storescp(tmp_path: Path) -> Iterator[Receiver]:
    """DCMTK's Storage SCP as the move destination DEST, writing into a folder."""
    receiver = Receiver(free_port(), tmp_path / "received")
    receiver.folder.mkdir()
    proc = subprocess.Popen(
        ["storescp", "-aet", DEST, "-od", str(receiver.folder), str(receiver.port)],
        env=DCMTK_ENV,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_listening(receiver.port, proc)
        yield receiver
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture
def door(make_door: MakeDoor, storescp: Receiver) -> DicomDoor:
    """The door with DEST as its one known peer (other calling AEs allowed too)."""
    dest = DicomPeer(ae_title=DEST, host="127.0.0.1", port=storescp.port)
    viewer = DicomPeer(ae_title=NOQR, host="127.0.0.1", port=1, query=False, retrieve=False)
    return make_door(dicom_allow_any_peer=True, dicom_peers=[dest, viewer])


@pytest.fixture
def stored(door: DicomDoor, tmp_path: Path) -> Stored:
    return store_archive(door.port, tmp_path / "sent")


def dataset_bytes(path: Path) -> bytes:
    """What follows the File Meta Information: the dataset as encoded (PS3.10 7.1)."""
    data = path.read_bytes()
    assert data[128:132] == b"DICM" and data[132:136] == b"\x02\x00\x00\x00"
    (group_length,) = struct.unpack_from("<I", data, 140)
    return data[144 + group_length :]


def originals(files: list[Path]) -> dict[str, Path]:
    return {dcmread(p, stop_before_pixels=True).SOPInstanceUID: p for p in files}


def movescu(door: DicomDoor, model: str, *keys: str) -> None:
    args = [x for key in keys for x in ("-k", key)]
    result = dcmtk(
        "movescu", "-aec", "LYSBORD", "-aem", DEST, model, *args, "127.0.0.1", str(door.port)
    )
    assert result.returncode == 0, result.stderr
    assert "Failed" not in result.stderr or "Failed: 0" in result.stderr, result.stderr


@plain_too
def test_move_study_sends_pixel_data_byte_identical(
    door: DicomDoor, stored: Stored, storescp: Receiver
) -> None:
    ct = stored.header(stored.ct)
    movescu(door, "-S", "QueryRetrieveLevel=STUDY", f"StudyInstanceUID={ct.StudyInstanceUID}")
    received, sent = storescp.received(), originals(stored.ct)
    assert set(received) == set(sent)
    for uid, path in sent.items():
        assert received[uid].PixelData == dcmread(path).PixelData
        assert received[uid].PatientID == ct.PatientID


def test_move_patient_level_sends_every_study_of_the_patient(
    door: DicomDoor, stored: Stored, storescp: Receiver
) -> None:
    mg = stored.header(stored.mg)
    movescu(door, "-P", "QueryRetrieveLevel=PATIENT", f"PatientID={mg.PatientID}")
    assert set(storescp.received()) == set(originals(stored.mg))


def getscu(door: DicomDoor, out: Path, *keys: str) -> dict[str, Path]:
    out.mkdir()
    args = [x for key in keys for x in ("-k", key)]
    result = dcmtk(
        "getscu", "-aec", "LYSBORD", "-S", "-od", str(out), *args, "127.0.0.1", str(door.port)
    )
    assert result.returncode == 0, result.stderr
    return originals(list(out.iterdir()))


@plain_too
def test_get_study_returns_byte_identical_datasets(
    door: DicomDoor, stored: Stored, tmp_path: Path
) -> None:
    mg = stored.header(stored.mg)
    got = getscu(
        door,
        tmp_path / "got",
        "QueryRetrieveLevel=STUDY",
        f"StudyInstanceUID={mg.StudyInstanceUID}",
    )
    sent = originals(stored.mg)
    assert set(got) == set(sent)
    for uid, path in sent.items():
        assert dataset_bytes(got[uid]) == dataset_bytes(path)


def test_get_carries_the_corrected_patient_and_accession(
    ctx: Context, door: DicomDoor, stored: Stored, tmp_path: Path
) -> None:
    ct = stored.header(stored.ct)
    cpr = random_cpr()
    with ctx.uow() as uow:  # what a reconciliation "assign" does to the study's index row
        study = uow.session.scalars(
            select(Study).where(Study.study_uid == ct.StudyInstanceUID)
        ).one()
        study.patient_key, study.patient_name, study.accession = cpr, "Ærø^Søren", "LB4711"
        uow.commit()
    got = getscu(
        door,
        tmp_path / "got",
        "QueryRetrieveLevel=SERIES",
        f"StudyInstanceUID={ct.StudyInstanceUID}",
        f"SeriesInstanceUID={ct.SeriesInstanceUID}",
    )
    sent = originals(stored.ct)
    assert set(got) == set(sent)
    for uid, path in got.items():
        ds = dcmread(path)
        assert (ds.PatientID, str(ds.PatientName), ds.AccessionNumber) == (
            cpr,
            "Ærø^Søren",
            "LB4711",
        )
        assert ds.PixelData == dcmread(sent[uid]).PixelData
    found = findscu(
        door,
        tmp_path / "q",
        "-S",
        "QueryRetrieveLevel=STUDY",
        "PatientID",
        f"StudyInstanceUID={ct.StudyInstanceUID}",
        "AccessionNumber",
    )
    assert [(f.PatientID, f.AccessionNumber) for f in found] == [(cpr, "LB4711")]


# --- refusals, through pynetdicom on one association ---------------------------------


def associate(door: DicomDoor, calling: str) -> Association:
    ae = AE(ae_title=calling)
    for model in (
        PatientRootQueryRetrieveInformationModelMove,
        StudyRootQueryRetrieveInformationModelMove,
        StudyRootQueryRetrieveInformationModelGet,
        StudyRootQueryRetrieveInformationModelFind,
    ):
        ae.add_requested_context(model)
    association = ae.associate("127.0.0.1", door.port, ae_title="LYSBORD")
    assert association.is_established
    return association


@pytest.fixture
def assoc(door: DicomDoor) -> Iterator[Association]:
    association = associate(door, "QRTEST")
    yield association
    association.release()


def identifier(level: str, **keys: str) -> Dataset:
    ds = Dataset()
    ds.QueryRetrieveLevel = level
    for keyword, value in keys.items():
        setattr(ds, keyword, value)
    return ds


def final(responses: Iterator[tuple[Dataset, Dataset | None]]) -> Dataset:
    statuses = [status for status, _ in responses]
    return statuses[-1]


def test_refusals_leave_the_association_usable(assoc: Association, stored: Stored) -> None:
    ct = stored.header(stored.ct)
    study = identifier("STUDY", StudyInstanceUID=ct.StudyInstanceUID)
    moved = final(assoc.send_c_move(study, "NOWHERE", StudyRootQueryRetrieveInformationModelMove))
    assert moved.Status == 0xA801
    unknown = identifier("STUDY", StudyInstanceUID=f"{generate_uid()}\\{generate_uid()}")
    got = final(assoc.send_c_get(unknown, StudyRootQueryRetrieveInformationModelGet))
    assert (got.Status, got.NumberOfCompletedSuboperations, got.NumberOfFailedSuboperations) == (
        0x0000,
        0,
        0,
    )
    no_patient = final(assoc.send_c_move(study, DEST, PatientRootQueryRetrieveInformationModelMove))
    assert no_patient.Status == 0xA900 and "PatientID" in no_patient.ErrorComment
    universal = identifier("STUDY", StudyInstanceUID="")
    refused = final(assoc.send_c_get(universal, StudyRootQueryRetrieveInformationModelGet))
    assert refused.Status == 0xA900 and "StudyInstanceUID" in refused.ErrorComment
    found = list(assoc.send_c_find(study, StudyRootQueryRetrieveInformationModelFind))
    assert [int(s.Status) for s, _ in found] == [0xFF00, 0x0000]


def test_a_peer_without_permissions_is_refused_with_0x0124(door: DicomDoor, stored: Stored) -> None:
    study = identifier("STUDY", StudyInstanceUID=stored.header(stored.ct).StudyInstanceUID)
    assoc = associate(door, NOQR)
    try:
        found = final(assoc.send_c_find(study, StudyRootQueryRetrieveInformationModelFind))
        moved = final(assoc.send_c_move(study, DEST, StudyRootQueryRetrieveInformationModelMove))
        got = final(assoc.send_c_get(study, StudyRootQueryRetrieveInformationModelGet))
    finally:
        assoc.release()
    assert [s.Status for s in (found, moved, got)] == [0x0124] * 3
    assert "query" in found.ErrorComment and "retrieve" in got.ErrorComment


def test_an_unreadable_blob_fails_its_sub_operation_only(
    ctx: Context, door: DicomDoor, stored: Stored, tmp_path: Path
) -> None:
    ct = stored.header(stored.ct)
    lost = dcmread(stored.ct[2]).SOPInstanceUID
    with ctx.uow(readonly=True) as uow:
        key = uow.session.scalars(
            select(Instance.blob_key).where(Instance.sop_instance_uid == lost)
        ).one()
    BlobStore(ctx.settings.data_dir / "blobs").path(key).unlink()
    out = tmp_path / "got"
    out.mkdir()
    result = dcmtk(
        "getscu",
        "-v",
        "-aec",
        "LYSBORD",
        "-S",
        "-od",
        str(out),
        "-k",
        "QueryRetrieveLevel=STUDY",
        "-k",
        f"StudyInstanceUID={ct.StudyInstanceUID}",
        "127.0.0.1",
        str(door.port),
    )
    report = result.stdout + result.stderr
    assert re.search(r"Completed Suboperations\s*: 4", report), report
    assert re.search(r"Failed Suboperations\s*: 1", report), report
    assert set(originals(list(out.iterdir()))) == set(originals(stored.ct)) - {lost}
