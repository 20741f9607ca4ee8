"""Who may talk to the archive: unknown AEs are rejected, known ones get what their flags say."""

from __future__ import annotations

import dataclasses
import random
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from lysbord.config import DicomPeer
from lysbord.dicom.peers import allowed, destination
from lysbord.dicom.server import DicomDoor
from lysbord.services.core.context import Context
from lysbord.store.archive_models import Instance
from tests.dicomdata import ct_series
from tests.interop.conftest import MakeDoor, dcmtk, plain_too


def ae_title(prefix: str) -> str:
    return f"{prefix}{random.randrange(16**6):06X}"


def peer(title: str, **flags: Any) -> DicomPeer:
    return DicomPeer(ae_title=title, host="127.0.0.1", port=random.randrange(20000, 30000), **flags)


def echo(door: DicomDoor, calling: str) -> Any:
    return dcmtk("echoscu", "-aet", calling, "-aec", "LYSBORD", "127.0.0.1", str(door.port))


def instance_count(ctx: Context) -> int:
    with ctx.uow(readonly=True) as uow:
        return int(uow.session.scalar(select(func.count()).select_from(Instance)) or 0)


def test_unknown_calling_ae_is_rejected_at_association(make_door: MakeDoor) -> None:
    door = make_door(dicom_peers=[peer(ae_title("CT"))])
    result = echo(door, ae_title("UNKNOWN"))
    assert result.returncode != 0
    assert "Association Rejected" in result.stderr, result.stderr
    assert "Calling AE Title Not Recognized" in result.stderr, result.stderr


def test_no_peers_configured_means_nobody_gets_in(make_door: MakeDoor) -> None:
    door = make_door(dicom_peers=[])
    result = echo(door, ae_title("ANY"))
    assert result.returncode != 0
    assert "Calling AE Title Not Recognized" in result.stderr, result.stderr


def test_known_calling_ae_is_accepted(make_door: MakeDoor) -> None:
    title = ae_title("CT")
    door = make_door(dicom_peers=[peer(ae_title("MR")), peer(f" {title}")])
    result = echo(door, title)
    assert result.returncode == 0, result.stderr


def test_allow_any_peer_lets_strangers_in(make_door: MakeDoor) -> None:
    door = make_door(dicom_allow_any_peer=True)
    result = echo(door, ae_title("UNKNOWN"))
    assert result.returncode == 0, result.stderr


@plain_too
def test_peer_without_store_gets_refused_not_authorised(
    ctx: Context, make_door: MakeDoor, tmp_path: Path
) -> None:
    title = ae_title("US")
    door = make_door(dicom_peers=[peer(title, store=False)])
    files = [str(p) for p in ct_series(tmp_path, 2, patient_id=ae_title("P"))]
    result = dcmtk(
        "storescu", "-v", "-aet", title, "-aec", "LYSBORD", "127.0.0.1", str(door.port), *files
    )
    assert result.returncode != 0
    assert "Store Response (Unknown Status: 0x124)" in result.stderr, result.stderr  # DCMTK 3.6.7
    assert instance_count(ctx) == 0


def test_peer_flags_hold_even_when_strangers_are_allowed(
    ctx: Context, make_door: MakeDoor, tmp_path: Path
) -> None:
    refused_title, stranger = ae_title("DX"), ae_title("ANY")
    door = make_door(dicom_allow_any_peer=True, dicom_peers=[peer(refused_title, store=False)])
    files = [str(p) for p in ct_series(tmp_path, 1, patient_id=ae_title("P"))]
    args = ("-aec", "LYSBORD", "127.0.0.1", str(door.port), *files)
    dcmtk("storescu", "-aet", refused_title, *args)
    assert instance_count(ctx) == 0
    result = dcmtk("storescu", "-aet", stranger, *args)
    assert result.returncode == 0, result.stderr
    assert instance_count(ctx) == 1


def test_allowed_and_destination_follow_the_settings(ctx: Context) -> None:
    title = ae_title("MR")
    known = peer(title, retrieve=False, site="AAA")
    strict = dataclasses.replace(
        ctx, settings=ctx.settings.model_copy(update={"dicom_peers": [known]})
    )
    assert allowed(strict, title, "store") and allowed(strict, f"{title}  ", "query")
    assert not allowed(strict, title, "retrieve")
    assert not allowed(strict, ae_title("X"), "store")
    assert destination(strict, title) == (known.host, known.port)
    lax = dataclasses.replace(
        strict, settings=strict.settings.model_copy(update={"dicom_allow_any_peer": True})
    )
    assert allowed(lax, ae_title("X"), "commitment")
    assert destination(lax, ae_title("X")) is None  # a stranger has no address to send to
