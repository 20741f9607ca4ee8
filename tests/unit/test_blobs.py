"""The content-addressed blob store: durable bytes at their sha256, once, or not at all."""

from __future__ import annotations

import hashlib
import os
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lysbord.store import blobs
from lysbord.store.blobs import STALE_AFTER, BlobStore


@pytest.fixture(autouse=True, params=["nameless", "named"])
def temporary_files(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Every test on both ways of writing: O_TMPFILE, and a filesystem without it."""
    if request.param == "named":
        monkeypatch.setattr(blobs, "_NAMELESS", 0)
    return str(request.param)


def files(root: Path) -> list[Path]:
    """Every blob (not temporary file) under ``root``, relative to it."""
    found = [p.relative_to(root) for p in root.rglob("*") if p.is_file()]
    return sorted(p for p in found if p.parts[0] != "tmp")


def test_put_places_the_bytes_at_their_sha256(tmp_path: Path) -> None:
    store = BlobStore(tmp_path)
    parts = [b"\x00" * 132, os.urandom(1000), b"tail"]
    stored = store.put(parts)
    key = hashlib.sha256(b"".join(parts)).hexdigest()
    assert (stored.key, stored.size, stored.new) == (key, 1136, True)
    assert store.path(key) == tmp_path / key[:2] / key[2:4] / key
    assert store.read(key) == b"".join(parts)
    assert store.verify(key) is None
    assert list((tmp_path / "tmp").iterdir()) == []


def test_same_content_twice_is_one_file(tmp_path: Path) -> None:
    store = BlobStore(tmp_path)
    data = os.urandom(500)
    first = store.put([data])
    second = store.put([data[:100], data[100:]])  # split differently, same bytes
    assert first.key == second.key
    assert (first.new, second.new) == (True, False)
    assert files(tmp_path) == [store.path(first.key).relative_to(tmp_path)]
    assert list((tmp_path / "tmp").iterdir()) == []


def test_a_final_name_over_bytes_a_crash_cut_short_is_written_again(tmp_path: Path) -> None:
    """The name is flushed with the file: a crash between them can leave the name over
    incomplete bytes, which no index row points at. The next put of the bytes repairs it."""
    store = BlobStore(tmp_path)
    data = os.urandom(4096)
    key = hashlib.sha256(data).hexdigest()
    store.path(key).parent.mkdir(parents=True)
    store.path(key).write_bytes(data[:1000])
    stored = BlobStore(tmp_path).put([data])
    assert (stored.key, stored.new) == (key, True)
    assert store.read(key) == data
    assert list((tmp_path / "tmp").iterdir()) == []
    assert list(store.path(key).parent.iterdir()) == [store.path(key)]


def test_linux_filesystems_get_nameless_files(tmp_path: Path, temporary_files: str) -> None:
    """Written nameless in their final folder (Linux, ext4 or tmpfs here); else named."""
    assert BlobStore(tmp_path)._nameless is (temporary_files == "nameless")


def test_verify_names_what_is_wrong(tmp_path: Path) -> None:
    store = BlobStore(tmp_path)
    key = store.put([b"original bytes"]).key
    assert store.verify("0" * 64) == "missing"
    store.path(key).write_bytes(b"changed bytes")
    assert store.verify(key) == "content does not match its hash"


def failing_parts(good: bytes) -> Iterator[bytes]:
    yield good
    raise OSError("disk full")  # as a failing writer or network read would


def test_failed_write_leaves_no_final_file_and_no_temp_file(tmp_path: Path) -> None:
    store = BlobStore(tmp_path)
    with pytest.raises(OSError, match="disk full"):
        store.put(failing_parts(os.urandom(100)))
    assert files(tmp_path) == []
    assert list((tmp_path / "tmp").iterdir()) == []


def test_stale_temp_files_are_removed_when_the_store_opens(tmp_path: Path) -> None:
    """A writer killed between write and rename leaves a temp file that nothing names."""
    BlobStore(tmp_path)
    old, fresh = tmp_path / "tmp" / "tmpcrashed", tmp_path / "tmp" / "tmpwriting"
    old.write_bytes(b"half an instance")
    fresh.write_bytes(b"another process is writing this")
    long_ago = time.time() - STALE_AFTER - 5
    os.utime(old, (long_ago, long_ago))
    store = BlobStore(tmp_path)
    assert store.removed_stale == 1
    assert not old.exists() and fresh.exists()


@settings(max_examples=50, deadline=None)
@given(parts=st.lists(st.binary(max_size=300), max_size=5))
def test_any_parts_round_trip(parts: list[bytes]) -> None:
    with tempfile.TemporaryDirectory() as root:
        store = BlobStore(Path(root))
        stored = store.put(parts)
        assert store.read(stored.key) == b"".join(parts)
        assert stored.size == sum(map(len, parts))
        assert store.verify(stored.key) is None
