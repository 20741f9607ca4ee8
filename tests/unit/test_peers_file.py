"""The demo's settings file loads as settings and lets DCMTK's default AE titles in."""

from __future__ import annotations

from pathlib import Path

from lysbord.config import load_settings
from lysbord.demo.peers_file import write_peers_file
from lysbord.services.operations.region import RoomView, SiteView


def test_the_demo_peers_file_is_valid_settings_and_never_overwrites(tmp_path: Path) -> None:
    room = RoomView(1, "CT1", "CT 1", "CT", "RHCT1", True, [])
    path = tmp_path / "lysbord.toml"
    assert write_peers_file(path, [SiteView("RH", "Rigshospitalet", [room], None)])
    settings = load_settings(data_dir=tmp_path)
    peers = {p.ae_title: p for p in settings.dicom_peers}
    assert not settings.dicom_allow_any_peer
    assert {"ECHOSCU", "STORESCU", "FINDSCU", "MOVESCU", "GETSCU", "STORESCP", "RHCT1"} == set(
        peers
    )
    assert (peers["STORESCP"].port, peers["RHCT1"].site) == (11113, "RH")
    assert not peers["RHCT1"].retrieve and peers["GETSCU"].retrieve
    path.write_text("http_port = 9000\n", encoding="utf-8")
    assert not write_peers_file(path, [])
    assert path.read_text(encoding="utf-8") == "http_port = 9000\n"
