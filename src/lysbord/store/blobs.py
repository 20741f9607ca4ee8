"""Content-addressed image store: bytes are durable before anything points at them.

put(): sha256 of the bytes, written to a nameless file (O_TMPFILE) in the folder
that will name it, linked as ``ab/cd/<sha256>``, then the file and the folders that
name it fsynced. Only then may the index row be committed and the sender told
"stored". The same bytes twice are one file.

The nameless file is made in its final folder, not in one shared temporary folder,
because ext4 looks for a new inode near its folder: one busy folder made every new
file's search start in the same inode group, and on an unjournaled ext4 that search
steps one by one over each inode freed there in the last minute (``recently_deleted``),
which after a bulk delete cost a sixth of the machine's CPU under four associations.
A writer killed before the link leaves nothing behind. Where the filesystem has no
O_TMPFILE the file is written under ``tmp/`` with a name and renamed into place.

The link comes before the flush so that one flush carries both: on ext4 the file's
fsync commits the journal with the new name (and any new folder) in it. The folders'
fsyncs run meanwhile on a helper thread and wait for that same commit; one after the
other they still cost a flush of the disk's cache each. Flushing the file first and
then its folder waited for two journal commits per instance. A crash between link and
flush can leave a final name over incomplete bytes; no index row points at it (the
index is written after put returns), and the next put of those bytes finds that they
do not match their name and writes them again. So an existing file is trusted only
once read back whole: duplicates are rare and the read is from the page cache.

A folder new to this process (made now, or left by a writer that may have crashed
before its fsync) is made durable in its parent on the way.

A named temporary file left under ``tmp/`` by a killed writer is removed, once older
than STALE_AFTER seconds, when a BlobStore opens, so they do not pile up over crashes.
The age keeps it off files that another process (another node on a shared store) is
still writing.
"""

from __future__ import annotations

import contextlib
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
_NAMELESS = getattr(os, "O_TMPFILE", 0)  # Linux only


@dataclass(frozen=True, slots=True)
class Stored:
    key: str
    size: int
    new: bool


class BlobStore:
    """The store under ``root``. Paths on the put path are strings: pathlib's objects
    cost a tenth of the door's Python time per instance there."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._root = str(root)
        self._tmp = root / "tmp"
        self._tmp.mkdir(parents=True, exist_ok=True)
        self.removed_stale = self.remove_stale_tmp()
        self._names = itertools.count()
        self._folders: set[str] = set()  # ab/ and ab/cd/ folders known to be durable
        self._nameless = _can_link_nameless(self._tmp)

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
        return Path(self._file(key))

    def _file(self, key: str) -> str:
        return f"{self._root}/{key[:2]}/{key[2:4]}/{key}"

    def put(self, parts: Iterable[bytes]) -> Stored:
        """Write the parts as one blob; durable when this returns."""
        chunks = list(parts)
        digest = hashlib.sha256()
        for chunk in chunks:
            digest.update(chunk)
        key, size = digest.hexdigest(), sum(map(len, chunks))
        final = self._file(key)
        folder = os.path.dirname(final)
        new_folders = self._make_folder(folder)
        if _problem(final, key) is None:  # placed before, perhaps not yet flushed
            _fsync(final)
            self._make_durable(folder, new_folders)
            return Stored(key, size, False)
        fd, tmp = self._open_temporary(folder)
        try:
            try:
                for chunk in chunks:
                    _write_all(fd, chunk)
                self._place(fd, tmp, final)
                folders = _FLUSHER.submit(self._make_durable, folder, new_folders)
                os.fsync(fd)
            finally:
                os.close(fd)
            folders.result()
            return Stored(key, size, True)
        finally:
            if tmp is not None and os.path.exists(tmp):
                os.unlink(tmp)

    def _open_temporary(self, folder: str) -> tuple[int, str | None]:
        """A file to write, nameless in ``folder`` where it can be, else named under tmp/."""
        if self._nameless:
            return os.open(folder, _NAMELESS | os.O_WRONLY, 0o600), None
        tmp = self._tmp_name(str(self._tmp))
        return os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), tmp

    def _tmp_name(self, folder: str) -> str:
        return f"{folder}/{os.getpid()}-{threading.get_ident()}-{next(self._names)}"

    def _place(self, fd: int, tmp: str | None, final: str) -> None:
        """Give the written file its final name, replacing bytes that did not match it."""
        if tmp is not None:
            os.replace(tmp, final)
            return
        try:
            _link(fd, final)
        except FileExistsError:  # left by a crash, or placed just now by another writer
            spare = self._tmp_name(os.path.dirname(final))
            _link(fd, spare)
            try:
                os.replace(spare, final)
            finally:
                with contextlib.suppress(FileNotFoundError):  # replaced: gone already
                    os.unlink(spare)

    def _make_folder(self, folder: str) -> list[str]:
        """``ab/cd/`` exists; the folders not yet known to be durable, innermost first."""
        if folder in self._folders:
            return []
        os.makedirs(folder, exist_ok=True)
        return [f for f in (folder, os.path.dirname(folder)) if f not in self._folders]

    def _make_durable(self, folder: str, new_folders: Iterable[str] = ()) -> None:
        """The folder names its file, and each new folder is named by its parent."""
        _fsync(folder)
        for made in new_folders:
            _fsync(os.path.dirname(made))
            self._folders.add(made)

    def read(self, key: str) -> bytes:
        return self.path(key).read_bytes()

    def verify(self, key: str) -> str | None:
        """None if the blob exists and matches its address, else what is wrong."""
        return _problem(self._file(key), key)


def _problem(path: str, key: str) -> str | None:
    """None if the file at ``path`` exists and its bytes hash to ``key``."""
    if not os.path.isfile(path):
        return "missing"
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return None if digest.hexdigest() == key else "content does not match its hash"


def _link(fd: int, name: str | Path) -> None:
    """Name the open file ``fd`` (linkat(2) on /proc/self/fd, as O_TMPFILE's manual does).

    ``src_dir_fd`` makes Python call linkat with AT_SYMLINK_FOLLOW instead of link(),
    which would try to link the /proc symlink itself; with an absolute path it is unused.
    """
    os.link(f"/proc/self/fd/{fd}", name, src_dir_fd=fd)


def _can_link_nameless(folder: Path) -> bool:
    """Whether this filesystem (and kernel) make nameless files that can then be linked."""
    if not _NAMELESS:
        return False
    probe = folder / f"nameless-{os.getpid()}-{threading.get_ident()}"
    try:
        fd = os.open(folder, _NAMELESS | os.O_WRONLY, 0o600)
        try:
            _link(fd, probe)
        finally:
            os.close(fd)
        probe.unlink()
        return True
    except OSError as exc:
        log.info("blob store %s: no nameless temporary files (%s); naming them", folder, exc)
        return False


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _fsync(path: str | Path) -> None:
    """Flush a file or a folder (opened read-only, as a folder must be)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
