"""WADO-RS file streaming: the same bytes whether the page cache has them or the disk must."""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from lysbord.dicomweb import filestream
from tests.helpers import run_loop

SIZE = 2 * filestream.CHUNK + 12345  # three chunks, the last one short


def read_all(path: Path) -> tuple[bytes, int]:
    """The streamed bytes and how many chunks carried them."""

    async def collect() -> tuple[bytes, int]:
        parts = [bytes(chunk) async for chunk in filestream.chunks(path)]
        return b"".join(parts), len(parts)

    return run_loop(collect)


@pytest.fixture
def blob(tmp_path: Path) -> tuple[Path, bytes]:
    data = os.urandom(SIZE)
    path = tmp_path / "blob"
    path.write_bytes(data)
    return path, data


def test_a_cached_file_comes_whole_in_chunks(blob: tuple[Path, bytes]) -> None:
    path, data = blob
    assert read_all(path) == (data, 3)


def test_pages_not_in_the_cache_are_read_in_a_worker_thread(
    blob: tuple[Path, bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    path, data = blob
    real = os.preadv
    calls: list[tuple[bool, bool]] = []  # (RWF_NOWAIT asked, on a worker thread)
    loop_thread: list[int] = []

    def preadv(fd: int, buffers: Sequence[Any], offset: int, flags: int = 0) -> int:
        nowait = flags == getattr(os, "RWF_NOWAIT", -1)
        on_worker = threading.get_ident() not in loop_thread
        calls.append((nowait, on_worker))
        if nowait:
            raise BlockingIOError  # "the disk would be needed"
        return real(fd, buffers, offset)

    async def collect() -> bytes:
        loop_thread.append(threading.get_ident())
        return b"".join([bytes(c) async for c in filestream.chunks(path)])

    monkeypatch.setattr(os, "preadv", preadv)
    assert run_loop(collect) == data
    assert [c for c in calls if not c[0]] == [(False, True)] * 3  # every read on a worker


def test_a_missing_file_fails_before_any_byte(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        filestream.chunks(tmp_path / "gone")


def test_the_file_is_closed_when_the_client_goes_away(blob: tuple[Path, bytes]) -> None:
    path, _ = blob

    async def first_chunk_only() -> None:
        stream = filestream.chunks(path)
        await anext(stream)
        await stream.aclose()

    before = len(os.listdir("/proc/self/fd"))
    run_loop(first_chunk_only)
    assert len(os.listdir("/proc/self/fd")) == before
