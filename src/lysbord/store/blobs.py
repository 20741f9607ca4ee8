"""Content-addressed image store: bytes are durable before anything points at them.

put(): sha256 while writing a temporary file in the store's own filesystem,
os.replace to ``ab/cd/<sha256>``, then fsync the file and the folders that name it.
Only then may the index row be committed and the sender told "stored". The same
bytes twice are one file.

The rename comes before the flush so that one flush carries both: on ext4 the file's
fsync commits the journal with the rename (and any new folder) in it. The folders'
fsyncs run meanwhile on a helper thread and wait for that same commit; one after the
other they still cost a flush of the disk's cache each. Flushing the file first and
then its folder waited for two journal commits per instance. A crash between rename and flush
can leave a final name over incomplete bytes; no index row points at it (the index is
written after put returns), and the next put of those bytes finds that they do not
match their name and writes them again. So an existing file is trusted only once read
back whole: duplicates are rare and the read is from the page cache.

A folder new to this process (made now, or left by a writer that may have crashed
before its fsync) is made durable in its parent on the way.

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
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)
STALE_AFTER = 60.0  # seconds without a write: the writer is gone
# Folders are flushed here while the writer flushes its file: the kernel serves both
# with one journal commit instead of one after the other.
_FLUSHER = ThreadPoolExecutor(max_workers=8, thread_name_prefix="blob-flush")


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
                new_folders = self._make_folder(final.parent)
                if self.verify(key) is None:  # placed before, perhaps not yet flushed
                    _fsync(final)
                    self._make_durable(final.parent, new_folders)
                    return Stored(key, size, False)
                os.replace(tmp, final)
                folders = _FLUSHER.submit(self._make_durable, final.parent, new_folders)
                os.fsync(fd)
            finally:
                os.close(fd)
            folders.result()
            return Stored(key, size, True)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)

    def _make_folder(self, folder: Path) -> list[Path]:
        """``ab/cd/`` exists; the folders not yet known to be durable, innermost first."""
        if folder in self._folders:
            return []
        folder.mkdir(parents=True, exist_ok=True)
        return [f for f in (folder, folder.parent) if f not in self._folders]

    def _make_durable(self, folder: Path, new_folders: Iterable[Path] = ()) -> None:
        """The folder names its file, and each new folder is named by its parent."""
        _fsync(folder)
        for made in new_folders:
            _fsync(made.parent)
            self._folders.add(made)

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


def _fsync(path: Path) -> None:
    """Flush a file or a folder (opened read-only, as a folder must be)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
