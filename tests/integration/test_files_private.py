"""What Lysbord writes at rest is readable by the service user only (issue 20: the SQLite
database and lysbord.toml used to be created 0644, readable by every local user)."""

from __future__ import annotations

import stat
from pathlib import Path

from sqlalchemy import text

from lysbord.bootstrap import build_context
from lysbord.config import Settings
from lysbord.demo.peers_file import write_peers_file
from lysbord.store.blobs import BlobStore


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_database_data_dir_blobs_and_settings_are_private(tmp_path: Path) -> None:
    data_dir = tmp_path / "var"
    ctx = build_context(Settings(data_dir=data_dir))
    try:
        with ctx.db.engine.begin() as conn:
            conn.execute(text("SELECT 1"))
        blobs = BlobStore(data_dir / "blobs")
        blob = blobs.put([b"DICM", b"bytes"])
    finally:
        ctx.db.dispose()
    assert _mode(data_dir) == 0o700
    written = [p for p in data_dir.iterdir() if p.is_file()]
    assert any(p.name == "lysbord.db" for p in written)
    assert {p.name: _mode(p) for p in written} == {p.name: 0o600 for p in written}
    assert _mode(blobs.path(blob.key)) == 0o600
    toml = data_dir / "lysbord.toml"
    assert write_peers_file(toml, [])
    assert _mode(toml) == 0o600
