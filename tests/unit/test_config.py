"""Settings from defaults, the TOML file and LYSBORD_* variables, and what they refuse."""

from __future__ import annotations

import json
import os
import random
from pathlib import Path

import pytest

from lysbord.config import DicomPeer, Settings, load_settings
from lysbord.domain.errors import ConfigError


@pytest.fixture(autouse=True)
def _no_lysbord_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """The developer's own LYSBORD_* variables must not leak into these tests."""
    for name in [n for n in os.environ if n.startswith("LYSBORD_")]:
        monkeypatch.delenv(name)


def ae_title(prefix: str = "AE") -> str:
    return f"{prefix}{random.randrange(16**6):06X}"


def write_toml(folder: Path, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "lysbord.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_know_no_peer_and_refuse_strangers(tmp_path: Path) -> None:
    settings = load_settings(data_dir=tmp_path)
    assert settings.dicom_peers == []
    assert settings.dicom_allow_any_peer is False
    assert settings.ae_title == "LYSBORD"


def test_fast_paths_are_on_unless_turned_off(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert load_settings(data_dir=tmp_path).dicom_fast_paths is True
    monkeypatch.setenv("LYSBORD_DICOM_FAST_PATHS", "false")
    assert load_settings(data_dir=tmp_path).dicom_fast_paths is False


def test_peer_flags_default_to_everything_allowed() -> None:
    peer = DicomPeer(ae_title="CT1", host="10.1.2.3", port=104)
    assert (peer.store, peer.query, peer.retrieve) == (True, True, True)
    assert (peer.worklist, peer.mpps, peer.commitment) == (True, True, True)
    assert peer.site is None


def test_peers_from_toml_in_the_data_dir(tmp_path: Path) -> None:
    ct, mr = ae_title("CT"), ae_title("MR")
    write_toml(
        tmp_path,
        f"""
dicom_allow_any_peer = false
[[dicom_peers]]
ae_title = "{ct}"
host = "10.20.0.5"
port = 104
site = "AAA"
retrieve = false
[[dicom_peers]]
ae_title = "{mr}"
host = "mr.example.org"
port = 11113
[deadlines]
cancer_days = 10
""",
    )
    settings = load_settings(data_dir=tmp_path)
    assert [p.ae_title for p in settings.dicom_peers] == [ct, mr]
    first = settings.dicom_peers[0]
    assert (first.host, first.port, first.site, first.retrieve, first.store) == (
        "10.20.0.5",
        104,
        "AAA",
        False,
        True,
    )
    assert settings.deadlines.cancer_days == 10  # the rest of the file still counts


def test_peers_from_json_in_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    title = ae_title("US")
    peers = [{"ae_title": title, "host": "127.0.0.1", "port": 4242, "store": False}]
    monkeypatch.setenv("LYSBORD_DICOM_PEERS", json.dumps(peers))
    monkeypatch.setenv("LYSBORD_DICOM_ALLOW_ANY_PEER", "true")
    settings = load_settings(data_dir=tmp_path)
    assert settings.dicom_allow_any_peer is True
    assert settings.dicom_peers == [
        DicomPeer(ae_title=title, host="127.0.0.1", port=4242, store=False)
    ]


def test_environment_beats_toml(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from_file, from_env = ae_title("FILE"), ae_title("ENV")
    write_toml(tmp_path, f'[[dicom_peers]]\nae_title = "{from_file}"\nhost = "h"\nport = 1\n')
    monkeypatch.setenv(
        "LYSBORD_DICOM_PEERS", json.dumps([{"ae_title": from_env, "host": "h", "port": 2}])
    )
    assert [p.ae_title for p in load_settings(data_dir=tmp_path).dicom_peers] == [from_env]


def test_explicit_config_file_and_flags(tmp_path: Path) -> None:
    config = write_toml(tmp_path / "etc", "http_port = 8400\ndicom_allow_any_peer = true\n")
    settings = load_settings(config, data_dir=tmp_path, http_port=8500)
    assert settings.http_port == 8500
    assert settings.dicom_allow_any_peer is True


def test_missing_config_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such file"):
        load_settings(tmp_path / "nowhere.toml", data_dir=tmp_path)


def test_ae_title_spaces_are_not_significant() -> None:
    assert DicomPeer(ae_title="  CT1 ", host="h", port=104).ae_title == "CT1"


@pytest.mark.parametrize(
    ("peer", "field", "reason"),
    [
        ({"ae_title": "A" * 17, "host": "h", "port": 104}, "dicom_peers.0.ae_title", "at most 16"),
        ({"ae_title": "CT\\1", "host": "h", "port": 104}, "dicom_peers.0.ae_title", "backslash"),
        ({"ae_title": "    ", "host": "h", "port": 104}, "dicom_peers.0.ae_title", "only spaces"),
        ({"ae_title": "CT1", "host": "h", "port": 0}, "dicom_peers.0.port", "greater than"),
        ({"ae_title": "CT1", "host": "h", "port": 65536}, "dicom_peers.0.port", "less than"),
        ({"ae_title": "CT1", "host": "", "port": 104}, "dicom_peers.0.host", "at least 1"),
        (
            {"ae_title": "CT1", "host": "h", "port": 104, "stor": False},
            "dicom_peers.0.stor",
            "not permitted",
        ),
    ],
)
def test_invalid_peer_is_refused_with_field_and_reason(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    peer: dict[str, object],
    field: str,
    reason: str,
) -> None:
    monkeypatch.setenv("LYSBORD_DICOM_PEERS", json.dumps([peer]))
    with pytest.raises(ConfigError) as info:
        load_settings(data_dir=tmp_path)
    assert info.value.field == field
    assert reason in info.value.message


def test_same_ae_title_twice_is_refused(tmp_path: Path) -> None:
    title = ae_title("DX")
    write_toml(
        tmp_path,
        "".join(
            f'[[dicom_peers]]\nae_title = "{t}"\nhost = "h"\nport = {n}\n'
            for n, t in enumerate([title, f" {title}"], 1)
        ),
    )
    with pytest.raises(ConfigError, match=f"AE title '{title}' is listed twice"):
        load_settings(data_dir=tmp_path)


def test_settings_survive_the_trip_to_a_dicom_worker(tmp_path: Path) -> None:
    """server.py hands each DICOM process ``model_dump()``; the peers must come back whole."""
    peer = DicomPeer(ae_title=ae_title(), host="h", port=104, site="BBB", mpps=False)
    settings = Settings(data_dir=tmp_path, dicom_peers=[peer])
    assert Settings.model_validate(settings.model_dump()).dicom_peers == [peer]
