"""Content-addressed image store: bytes are durable before anything points at them.

put(): sha256 while writing a temporary file in the store's own filesystem, fsync,
os.replace to ``ab/cd/<sha256>``, fsync the directory. Only then may the index
row be committed and the sender told "stored". The same bytes twice are one file.
A folder new to this process (made now, or left by a writer that may have crashed
before its fsync) is made durable in its parent on the way, on the writer's own
thread: a helper thread overlapped the two flushes, but with more busy processes
than cores its wake-ups (and the GIL handed back and forth) cost more than they saved.

A process killed between creating its temporary file and the rename leaves that
file behind; nothing points at it. Each BlobStore removes those older than STALE_AFTER seconds
when it opens, so they do not pile up over crashes. The age keeps it off files that
another process (another node on a shared store) is still writing.
"""

from __future__ import annotations

import hashlib
import itertools
import logging
import os
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)
STALE_AFTER = 60.0  # seconds without a write: the writer is gone


@dataclass(frozen=True, slots=True)
class Stored:
    key: str
    size: int
    new: bool


class BlobStore:
    def __init__(self, root: Path) -> None:
        self.root = root
        self._tmp = root / "tmp"
        self._tmp.mkdir(parents=True, exist_ok=True)
        self.removed_stale = self.remove_stale_tmp()
        self._names = itertools.count()
        self._folders: set[Path] = set()  # ab/ and ab/cd/ folders known to be durable

    def remove_stale_tmp(self, older_than: float = STALE_AFTER) -> int:
        """Delete temporary files left by crashed writers; how many went."""
        cutoff = time.time() - older_than
        removed = 0
        for entry in os.scandir(self._tmp):
            try:
                if entry.is_file() and entry.stat().st_mtime < cutoff:
                    os.unlink(entry.path)
                    removed += 1
            except FileNotFoundError:
                continue  # another process removed it first
        if removed:
            log.warning("removed %d stale temporary blob files from %s", removed, self._tmp)
        return removed

    def path(self, key: str) -> Path:
        return self.root / key[:2] / key[2:4] / key

    def put(self, parts: Iterable[bytes]) -> Stored:
        """Write the parts as one blob; durable when this returns."""
        digest = hashlib.sha256()
        tmp = self._tmp / f"{os.getpid()}-{threading.get_ident()}-{next(self._names)}"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o640)
        size = 0
        try:
            try:
                for part in parts:
                    digest.update(part)
                    _write_all(fd, part)
                    size += len(part)
                key = digest.hexdigest()
                final = self.path(key)
                if final.exists():  # placed before, perhaps by a writer killed before its fsync
                    _fsync_dir(final.parent)
                    return Stored(key, size, False)
                os.fsync(fd)
            finally:
                os.close(fd)
            self._ensure_folder(final.parent)
            os.replace(tmp, final)
            _fsync_dir(final.parent)
            return Stored(key, size, True)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)

    def _ensure_folder(self, folder: Path) -> None:
        """``ab/cd/`` exists and its parents name it, on disk and not just in memory."""
        if folder in self._folders:
            return
        folder.mkdir(parents=True, exist_ok=True)
        _fsync_dir(folder.parent)  # ab/ names cd/
        if folder.parent not in self._folders:
            _fsync_dir(self.root)  # and the root names ab/
            self._folders.add(folder.parent)
        self._folders.add(folder)

    def read(self, key: str) -> bytes:
        return self.path(key).read_bytes()

    def verify(self, key: str) -> str | None:
        """None if the blob exists and matches its address, else what is wrong."""
        path = self.path(key)
        if not path.is_file():
            return "missing"
        digest = hashlib.sha256()
        with path.open("rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                digest.update(chunk)
        return None if digest.hexdigest() == key else "content does not match its hash"


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
