"""C-ECHO and C-STORE through DCMTK against the running door."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select

from lysbord.dicom.server import DicomDoor
from lysbord.services.core.context import Context
from lysbord.store.archive_models import Instance
from tests.dicomdata import ct_series
from tests.interop.conftest import dcmtk


def test_echo(door: DicomDoor) -> None:
    result = dcmtk("echoscu", "-aec", "LYSBORD", "127.0.0.1", str(door.port))
    assert result.returncode == 0, result.stderr


def test_store_ct_series_once_even_when_sent_twice(
    ctx: Context, door: DicomDoor, tmp_path: Path
) -> None:
    files = [str(p) for p in ct_series(tmp_path, 5, patient_id="UNKNOWN1")]
    for _ in range(2):
        result = dcmtk("storescu", "-aec", "LYSBORD", "127.0.0.1", str(door.port), *files)
        assert result.returncode == 0, result.stderr
    with ctx.uow(readonly=True) as uow:
        assert uow.session.scalar(select(func.count()).select_from(Instance)) == 5
