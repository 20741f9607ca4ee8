"""C-STORE through DCMTK's storescu: syntaxes kept byte for byte, parallel senders, conflicts.

What the archive holds must be exactly what was sent: the blob is our file meta
followed by the dataset bytes as they came off the wire, so its bytes after the
meta must equal the sent file's bytes after its meta.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from pydicom import dcmread
from pydicom.uid import (
    DeflatedExplicitVRLittleEndian,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
    JPEGLosslessSV1,
    RLELossless,
    generate_uid,
)
from pynetdicom.dsutils import split_dataset
from sqlalchemy import func, select

from lysbord.dicom.server import DicomDoor
from lysbord.services.core.context import Context
from lysbord.store.archive_models import Instance, InstanceConflict, Series, Study
from lysbord.store.blobs import BlobStore
from tests.dicomdata import ct_series, mammogram, save
from tests.helpers import random_cpr
from tests.interop.conftest import DCMTK_ENV, dcmtk, plain_too


def payload(path: Path) -> bytes:
    """The dataset bytes of a Part 10 file: everything after its file meta."""
    _, offset = split_dataset(path)
    return path.read_bytes()[offset:]


def blobs(ctx: Context) -> BlobStore:
    return BlobStore(ctx.settings.data_dir / "blobs")


def stored(ctx: Context, sop_uid: str) -> Instance:
    with ctx.uow(readonly=True) as uow:
        row = uow.session.scalars(
            select(Instance).where(Instance.sop_instance_uid == sop_uid)
        ).one()
        uow.session.expunge(row)
        return row


def assert_kept(ctx: Context, path: Path, transfer_syntax: str) -> Instance:
    """The file's instance is indexed with its syntax and stored byte for byte."""
    sop_uid = dcmread(path, stop_before_pixels=True).SOPInstanceUID
    row = stored(ctx, sop_uid)
    assert row.transfer_syntax == transfer_syntax
    blob = blobs(ctx).path(row.blob_key)
    assert blobs(ctx).verify(row.blob_key) is None
    assert payload(blob) == payload(path), f"{path.name}: stored bytes differ from sent bytes"
    assert dcmread(blob).file_meta.TransferSyntaxUID == transfer_syntax
    return row


def storescu(door: DicomDoor, *args: str) -> subprocess.CompletedProcess[str]:
    return dcmtk("storescu", "-v", "-aec", "LYSBORD", "127.0.0.1", str(door.port), *args)


def count(ctx: Context, table: type) -> int:
    with ctx.uow(readonly=True) as uow:
        return int(uow.session.scalar(select(func.count()).select_from(table)) or 0)


def converted(tool: str, source: Path, target: Path) -> Path:
    """A DCMTK codec (dcmcrle, dcmcjpeg) applied to ``source``; pydicom has no numpy here."""
    result = subprocess.run(
        [tool, str(source), str(target)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    return target


def make_file(folder: Path, syntax: str) -> Path:
    """One small CT written in ``syntax``: by pydicom, or by a DCMTK codec from explicit VR."""
    if syntax in (ImplicitVRLittleEndian, ExplicitVRLittleEndian, DeflatedExplicitVRLittleEndian):
        return ct_series(folder, 1, patient_id=random_cpr(), transfer_syntax=syntax)[0]
    source = ct_series(folder / "src", 1, patient_id=random_cpr())[0]
    tool = "dcmcrle" if syntax == RLELossless else "dcmcjpeg"
    return converted(tool, source, folder / "compressed.dcm")


# storescu options that propose the file's own syntax, so nothing is converted on the way.
SYNTAXES = {
    ImplicitVRLittleEndian: ["-xi"],
    ExplicitVRLittleEndian: ["-xe"],
    DeflatedExplicitVRLittleEndian: ["-xd"],
    RLELossless: ["-xr", "-R"],
    JPEGLosslessSV1: ["-xs", "-R"],
}


@pytest.mark.parametrize("syntax", list(SYNTAXES), ids=lambda s: s.name)
def test_each_syntax_is_kept_byte_for_byte(
    ctx: Context, door: DicomDoor, tmp_path: Path, syntax: str
) -> None:
    path = make_file(tmp_path, syntax)
    assert dcmread(path).file_meta.TransferSyntaxUID == syntax
    result = storescu(door, *SYNTAXES[syntax], str(path))
    assert result.returncode == 0, result.stderr
    assert_kept(ctx, path, syntax)


def test_four_parallel_associations_of_fifty(ctx: Context, door: DicomDoor, tmp_path: Path) -> None:
    study_uid, patient_id = generate_uid(), random_cpr()  # one study: all race to create it
    folders = [
        ct_series(tmp_path / f"s{i}", 50, patient_id=patient_id, study_uid=study_uid)
        for i in range(4)
    ]
    senders = [
        subprocess.Popen(
            ["storescu", "-aec", "LYSBORD", "127.0.0.1", str(door.port), *map(str, files)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=DCMTK_ENV,
        )
        for files in folders
    ]
    for sender in senders:
        _, err = sender.communicate(timeout=120)
        assert sender.returncode == 0, err
    assert count(ctx, Instance) == 200
    assert count(ctx, Series) == 4 and count(ctx, Study) == 1
    for files in folders:
        for path in files[::7]:
            assert_kept(ctx, path, ExplicitVRLittleEndian)


def test_four_view_mammogram(ctx: Context, door: DicomDoor, tmp_path: Path) -> None:
    files = mammogram(tmp_path, patient_id=random_cpr(female=True))
    result = storescu(door, *map(str, files))
    assert result.returncode == 0, result.stderr
    for path in files:
        assert_kept(ctx, path, ExplicitVRLittleEndian)
    with ctx.uow(readonly=True) as uow:
        series = uow.session.scalars(select(Series)).one()
        assert series.modality == "MG"
    assert count(ctx, Instance) == 4


def test_same_instance_twice_is_stored_once(ctx: Context, door: DicomDoor, tmp_path: Path) -> None:
    path = ct_series(tmp_path, 1, patient_id=random_cpr())[0]
    first = storescu(door, str(path))
    second = storescu(door, str(path))
    assert first.returncode == 0 and second.returncode == 0, second.stderr
    assert count(ctx, Instance) == 1 and count(ctx, InstanceConflict) == 0
    root = ctx.settings.data_dir / "blobs"
    files = [p.relative_to(root) for p in root.rglob("*") if p.is_file()]
    assert [p.name for p in files if p.parts[0] != "tmp"] == [stored_key(ctx, path)]


def stored_key(ctx: Context, path: Path) -> str:
    return stored(ctx, dcmread(path, stop_before_pixels=True).SOPInstanceUID).blob_key


@plain_too
def test_same_uid_other_content_is_a_conflict(
    ctx: Context, door: DicomDoor, tmp_path: Path
) -> None:
    first = ct_series(tmp_path / "a", 1, patient_id=random_cpr())[0]
    assert storescu(door, str(first)).returncode == 0
    kept = stored(ctx, dcmread(first).SOPInstanceUID)
    other = dcmread(first)
    other.PatientName = "Anden^Person"
    second = save(other, tmp_path / "b.dcm")

    result = storescu(door, "-d", str(second))  # -d: the whole C-STORE-RSP, comment too

    shown = result.stdout + result.stderr
    assert "0xc001" in shown.lower(), shown
    assert "kept as conflict" in shown, "storescu shows the Error Comment"
    after = stored(ctx, other.SOPInstanceUID)
    assert (after.blob_key, after.id) == (kept.blob_key, kept.id)
    assert payload(blobs(ctx).path(after.blob_key)) == payload(first)
    with ctx.uow(readonly=True) as uow:
        conflict = uow.session.scalars(select(InstanceConflict)).one()
        assert conflict.sop_instance_uid == other.SOPInstanceUID
        assert payload(blobs(ctx).path(conflict.blob_key)) == payload(second)
