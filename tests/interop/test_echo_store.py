"""C-ECHO and C-STORE through DCMTK against the running door."""

from __future__ import annotations

from pathlib import Path

from pynetdicom.transport import AssociationSocket, RequestHandler
from sqlalchemy import func, select

from lysbord.dicom.fast import path
from lysbord.dicom.server import DicomDoor
from lysbord.services.core.context import Context
from lysbord.store.archive_models import Instance
from tests.dicomdata import ct_series
from tests.interop.conftest import dcmtk, plain_too


@plain_too
def test_the_door_runs_with_the_fast_paths_or_plain_pynetdicom(
    door: DicomDoor, fast_paths: bool
) -> None:
    assert door.fast is fast_paths
    assert (AssociationSocket.recv is path.recv_whole) is fast_paths
    assert (RequestHandler.local.fget is path.listener_address) is fast_paths  # type: ignore[attr-defined]


@plain_too
def test_echo(door: DicomDoor) -> None:
    result = dcmtk("echoscu", "-aec", "LYSBORD", "127.0.0.1", str(door.port))
    assert result.returncode == 0, result.stderr


@plain_too
def test_store_ct_series_once_even_when_sent_twice(
    ctx: Context, door: DicomDoor, tmp_path: Path
) -> None:
    files = [str(p) for p in ct_series(tmp_path, 5, patient_id="UNKNOWN1")]
    for _ in range(2):
        result = dcmtk("storescu", "-aec", "LYSBORD", "127.0.0.1", str(door.port), *files)
        assert result.returncode == 0, result.stderr
    with ctx.uow(readonly=True) as uow:
        assert uow.session.scalar(select(func.count()).select_from(Instance)) == 5
