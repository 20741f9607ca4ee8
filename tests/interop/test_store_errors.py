"""Bad C-STOREs through pynetdicom: each gets a failure status naming the problem,
nothing of it is indexed, and the same association then stores a good instance.

pynetdicom refuses to send a dataset without a SOP Instance UID, so bad datasets go
as files with ``STORE_SEND_CHUNKED_DATASET``: pynetdicom then sends the bytes after
the file meta exactly as they are, with the UIDs of the file meta in the request.
"""

from __future__ import annotations

import os
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from pydicom import Dataset
from pydicom.dataset import FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, ImplicitVRLittleEndian, generate_uid
from pynetdicom import AE, _config
from pynetdicom.association import Association
from pynetdicom.dsutils import encode
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from lysbord.dicom.server import DicomDoor
from lysbord.dicomcodec.meta import file_meta
from lysbord.services.core.context import Context
from lysbord.store.archive_models import Instance, InstanceConflict, Series, Study
from tests.dicomdata import CT, base_dataset
from tests.helpers import random_cpr

RT_IMAGE = "1.2.840.10008.5.1.4.1.1.481.1"  # RT Image Storage: not a class the archive takes


def ct() -> Dataset:
    return base_dataset(
        CT,
        patient_id=random_cpr(),
        patient_name="Hansen^Jens",
        accession="",
        study_uid=generate_uid(),
        series_uid=generate_uid(),
        modality="CT",
        number=1,
        size=16,
    )


def encoded(ds: Dataset, ts: str = ExplicitVRLittleEndian) -> bytes:
    data = encode(ds, ts == ImplicitVRLittleEndian, True)
    assert data is not None
    return data


@pytest.fixture
def assoc(door: DicomDoor, monkeypatch: pytest.MonkeyPatch) -> Iterator[Association]:
    monkeypatch.setattr(_config, "STORE_SEND_CHUNKED_DATASET", True)
    ae = AE(ae_title="BADSCU")
    ae.add_requested_context(CT, ExplicitVRLittleEndian)  # one context per syntax
    ae.add_requested_context(CT, ImplicitVRLittleEndian)
    ae.add_requested_context(RT_IMAGE, ExplicitVRLittleEndian)
    assoc = ae.associate("127.0.0.1", door.port, ae_title="LYSBORD")
    assert assoc.is_established
    yield assoc
    assoc.release()


def send(
    assoc: Association,
    folder: Path,
    body: bytes,
    sop_uid: str,
    ts: str = ExplicitVRLittleEndian,
) -> Dataset:
    """Send ``body`` as it is, in a C-STORE request for ``sop_uid``; the response."""
    path = folder / f"{sop_uid}.dcm"
    path.write_bytes(file_meta(CT, sop_uid, ts) + body)
    status = assoc.send_c_store(path)
    assert "Status" in status, "no response: the association failed"
    return status


def indexed(ctx: Context) -> set[str]:
    with ctx.uow(readonly=True) as uow:
        return set(uow.session.scalars(select(Instance.sop_instance_uid)))


def without(keyword: str) -> Callable[[str], tuple[bytes, str]]:
    def make(ts: str) -> tuple[bytes, str]:
        ds = ct()
        request_uid = ds.SOPInstanceUID
        delattr(ds, keyword)
        return encoded(ds, ts), request_uid

    return make


def other_uid(ts: str) -> tuple[bytes, str]:
    return encoded(ct(), ts), generate_uid()


def cut_in(keyword: str, into: int) -> Callable[[str], tuple[bytes, str]]:
    """The dataset cut ``into`` bytes after the start of ``keyword``'s value."""

    def make(ts: str) -> tuple[bytes, str]:
        ds = ct()
        data = encoded(ds, ts)
        marker = ds[keyword].value
        start = data.index(marker) if isinstance(marker, bytes) else data.index(marker.encode())
        return data[: start + into], ds.SOPInstanceUID

    return make


BAD = {
    "missing SOPInstanceUID": (without("SOPInstanceUID"), 0xA900, "missing SOPInstanceUID"),
    "missing StudyInstanceUID": (without("StudyInstanceUID"), 0xA900, "missing StudyInstanceUID"),
    "other SOPInstanceUID": (other_uid, 0xA900, "SOPInstanceUID differs"),
    "cut in the Series UID": (cut_in("SeriesInstanceUID", 9), 0xC000, "past the end"),
    "cut in the Pixel Data": (cut_in("PixelData", 100), 0xC000, "past the end"),
}


@pytest.mark.parametrize("ts", [ExplicitVRLittleEndian, ImplicitVRLittleEndian])
@pytest.mark.parametrize("case", list(BAD))
def test_bad_dataset_fails_and_the_association_goes_on(
    ctx: Context, assoc: Association, tmp_path: Path, case: str, ts: str
) -> None:
    make, expected, comment = BAD[case]
    body, request_uid = make(ts)

    status = send(assoc, tmp_path, body, request_uid, ts)

    assert status.Status == expected, status
    assert comment in status.ErrorComment
    assert indexed(ctx) == set()
    good = ct()
    assert send(assoc, tmp_path, encoded(good, ts), good.SOPInstanceUID, ts).Status == 0
    assert indexed(ctx) == {good.SOPInstanceUID}


GARBAGE = {
    "random bytes": os.urandom(4096),
    "all ones": b"\xff" * 512,
    "a bad VR": b"\x08\x00\x16\x00\x01\x02\x04\x00abcd",
    "zlib text": zlib.compress(b"this is not a dataset" * 20),
}


@pytest.mark.parametrize("ts", [ExplicitVRLittleEndian, ImplicitVRLittleEndian])
@pytest.mark.parametrize("case", list(GARBAGE))
def test_garbage_fails_and_the_association_goes_on(
    ctx: Context, assoc: Association, tmp_path: Path, case: str, ts: str
) -> None:
    """Garbage cannot be understood (0xC000) or has no UIDs (0xA900); never success."""
    status = send(assoc, tmp_path, GARBAGE[case], generate_uid(), ts)

    assert status.Status in (0xC000, 0xA900), status
    assert status.ErrorComment
    good = ct()
    assert send(assoc, tmp_path, encoded(good, ts), good.SOPInstanceUID, ts).Status == 0
    assert indexed(ctx) == {good.SOPInstanceUID}
    with ctx.uow(readonly=True) as uow:
        assert uow.session.scalar(select(func.count()).select_from(Study)) == 1
        assert uow.session.scalar(select(func.count()).select_from(InstanceConflict)) == 0


def test_unsupported_sop_class_is_not_accepted(assoc: Association) -> None:
    accepted = {str(cx.abstract_syntax) for cx in assoc.accepted_contexts}
    rejected = {str(cx.abstract_syntax) for cx in assoc.rejected_contexts}
    assert CT in accepted
    assert RT_IMAGE not in accepted and RT_IMAGE in rejected
    ds = ct()
    ds.SOPClassUID = RT_IMAGE
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    with pytest.raises(ValueError, match="No presentation context"):
        assoc.send_c_store(ds)
    assert assoc.is_established


def test_same_instance_from_two_associations_at_once(
    ctx: Context, door: DicomDoor, tmp_path: Path
) -> None:
    """Both senders race to index it; both must hear success, and it is stored once."""
    instances = [ct() for _ in range(20)]
    bodies = [(encoded(ds), ds.SOPInstanceUID) for ds in instances]
    barrier = threading.Barrier(2)
    results: dict[int, list[int]] = {}

    def sender(n: int) -> None:
        ae = AE(ae_title=f"RACE{n}")
        ae.add_requested_context(CT, ExplicitVRLittleEndian)
        assoc = ae.associate("127.0.0.1", door.port, ae_title="LYSBORD")
        folder = tmp_path / str(n)
        folder.mkdir()
        statuses = []
        for body, uid in bodies:
            barrier.wait(10)
            statuses.append(int(send(assoc, folder, body, uid).Status))
        assoc.release()
        results[n] = statuses

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(_config, "STORE_SEND_CHUNKED_DATASET", True)
        threads = [threading.Thread(target=sender, args=(n,)) for n in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
    assert results == {0: [0] * 20, 1: [0] * 20}
    assert indexed(ctx) == {ds.SOPInstanceUID for ds in instances}


def wait_for_lock_wait(ctx: Context, timeout: float = 10) -> None:
    """Until some PostgreSQL backend waits on a lock: the handler's INSERT behind ours."""
    deadline = time.monotonic() + timeout
    query = text("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'")
    while time.monotonic() < deadline:
        with ctx.db.engine.connect() as conn:
            if conn.scalar(query):
                return
        time.sleep(0.05)
    raise AssertionError("the C-STORE never waited for the other node's insert")


def test_other_node_indexing_the_same_uid_meanwhile_is_a_conflict_not_a_failure(
    ctx: Context, door: DicomDoor, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another node inserts the same SOP Instance UID between our look and our insert.

    The unique index makes our INSERT wait and then fail; the instance must then be
    judged again (a repeat or a conflict), not answered "out of resources".
    """
    if ctx.db.engine.dialect.name != "postgresql":
        pytest.skip("SQLite writers are serialised by BEGIN IMMEDIATE: no such window")
    monkeypatch.setattr(_config, "STORE_SEND_CHUNKED_DATASET", True)
    ds = ct()
    other = Session(ctx.db.engine)  # the other node's open transaction
    now = ctx.now()
    study = Study(study_uid=generate_uid(), received_at=now)
    other.add(study)
    other.flush()
    series = Series(series_uid=generate_uid(), study_id=study.id)
    other.add(series)
    other.flush()
    other.add(Instance(sop_instance_uid=ds.SOPInstanceUID, series_id=series.id,
                       sop_class_uid=CT, transfer_syntax=ExplicitVRLittleEndian,
                       blob_key="0" * 64, size=1, received_at=now))  # fmt: skip
    other.flush()
    ae = AE(ae_title="RACER")
    ae.add_requested_context(CT, ExplicitVRLittleEndian)
    assoc = ae.associate("127.0.0.1", door.port, ae_title="LYSBORD")
    answer: list[Dataset] = []
    thread = threading.Thread(
        target=lambda: answer.append(send(assoc, tmp_path, encoded(ds), ds.SOPInstanceUID))
    )
    thread.start()
    wait_for_lock_wait(ctx)
    other.commit()
    other.close()
    thread.join(30)
    assoc.release()
    assert answer[0].Status == 0xC001, answer[0]
    with ctx.uow(readonly=True) as uow:
        assert uow.session.scalar(select(func.count()).select_from(InstanceConflict)) == 1
