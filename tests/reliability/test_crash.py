"""Kill -9 during ingest: every acknowledged instance survives, byte for byte.

A real ``lysbord serve`` (HTTP in the main process, DICOM in spawned workers) takes
500 small CTs from a pynetdicom client that records each C-STORE status. After
about 200 successes the whole process group gets SIGKILL, wherever it is: in the
middle of a blob write, a rename or a commit. The server then starts again on the
same data directory and database, and the promise is checked: acknowledged means
indexed and stored as sent; ``lysbord check`` holds; the rest can be sent again;
temporary files of the killed writers do not pile up.
"""

from __future__ import annotations

import gc
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydicom.uid import ExplicitVRLittleEndian
from pynetdicom import AE, _config
from pynetdicom.dsutils import split_dataset
from sqlalchemy import create_engine, select, text

from lysbord.config import Settings
from lysbord.dicom.fast import switch
from lysbord.store.archive_models import Instance
from lysbord.store.blobs import STALE_AFTER, BlobStore
from lysbord.store.db import make_engine
from tests.conftest import BACKENDS, PG_ADMIN_URL
from tests.dicomdata import CT, ct_series
from tests.helpers import random_cpr

# pynetdicom 3.0.4 leaks a socket whose peer closed first (transport.py _shutdown_socket:
# shutdown() raises, close() is skipped): expected when the server is killed under us.
pytestmark = [
    pytest.mark.slow,
    pytest.mark.filterwarnings("ignore:unclosed <socket.socket:ResourceWarning"),
]
LYSBORD = str(Path(sys.executable).with_name("lysbord"))
TOTAL, KILL_AFTER = 500, 200


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


class Server:
    """``lysbord serve`` in its own session, so that one killpg takes all its processes."""

    def __init__(self, data_dir: Path, database_url: str | None) -> None:
        self.data_dir, self.database_url = data_dir, database_url
        self.proc: subprocess.Popen[bytes] | None = None
        self.port = self.http_port = 0
        self.starts = 0

    def db_args(self) -> list[str]:
        return ["--database-url", self.database_url] if self.database_url else []

    def start(self) -> None:
        self.port, self.http_port, self.starts = free_port(), free_port(), self.starts + 1
        ports = ["--http-port", str(self.http_port), "--dicom-port", str(self.port)]
        ports += ["--hl7-port", str(free_port())]
        self.log = self.data_dir.parent / f"serve-{self.starts}.log"
        env = {**os.environ, "LYSBORD_DICOM_ALLOW_ANY_PEER": "true"}
        with self.log.open("wb") as out:
            self.proc = subprocess.Popen(
                [LYSBORD, "serve", "--data-dir", str(self.data_dir), *ports, *self.db_args()],
                stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True,
            )  # fmt: skip
        self.wait_ready()

    def wait_ready(self) -> None:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            assert self.proc is not None and self.proc.poll() is None, self.tail()
            if listening(self.port):
                break
            time.sleep(0.3)
        assoc = echo_ae().associate("127.0.0.1", self.port, ae_title="LYSBORD")
        assert assoc.is_established, f"lysbord serve refused the association\n{self.tail()}"
        assert assoc.send_c_echo().get("Status") == 0, self.tail()
        assoc.release()

    def kill(self) -> None:
        """SIGKILL to the whole group: the main process and every worker."""
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(30)

    def tail(self) -> str:
        return self.log.read_text(errors="replace")[-3000:]

    def check(self) -> subprocess.CompletedProcess[str]:
        args = [LYSBORD, "check", "--data-dir", str(self.data_dir), *self.db_args()]
        return subprocess.run(args, capture_output=True, text=True, timeout=120, check=False)


@pytest.fixture(autouse=True)
def race_free_client() -> None:
    """This client's reactor pause must be race-free (``fast.checkpoint``): pynetdicom
    3.0.4's own reactor now and then takes a C-STORE response before ``send_c_store``
    does, which then times out. The test has no door of its own in this process to
    install it (an earlier test's door may have, or a plain one taken it out again)."""
    assert switch.install()


def echo_ae() -> AE:
    ae = AE(ae_title="CRASHSCU")
    ae.add_requested_context("1.2.840.10008.1.1")
    ae.add_requested_context(CT, ExplicitVRLittleEndian)
    return ae


def send(port: int, paths: list[Path], on_success: threading.Event | None = None) -> list[int]:
    """C-STORE each file as its bytes are (chunked), in order, until the association dies.

    The statuses come back in order, one per instance that got an answer; when
    ``KILL_AFTER`` have succeeded, ``on_success`` is set for the killer.
    """
    statuses: list[int] = []
    assoc = echo_ae().associate("127.0.0.1", port, ae_title="LYSBORD")
    assert assoc.is_established
    for path in paths:
        if not assoc.is_established:
            break
        status = assoc.send_c_store(path)
        if "Status" not in status:
            break  # aborted under us: no answer for this one
        statuses.append(int(status.Status))
        if on_success is not None and statuses.count(0) == KILL_AFTER:
            on_success.set()
    if assoc.is_established:
        assoc.release()
    return statuses


def killer(server: Server, go: threading.Event) -> threading.Thread:
    """Kill the server a few milliseconds after ``go``: somewhere inside a later C-STORE."""

    def run() -> None:
        go.wait(120)
        time.sleep(random.uniform(0.0, 0.02))
        server.kill()

    thread = threading.Thread(target=run, name="killer")
    thread.start()
    return thread


def payload(path: Path) -> bytes:
    _, offset = split_dataset(path)
    return path.read_bytes()[offset:]


def archived(settings: Settings) -> dict[str, str]:
    """SOP Instance UID -> blob key, straight from the index."""
    engine = make_engine(settings.effective_database_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(select(Instance.sop_instance_uid, Instance.blob_key))
            return {row.sop_instance_uid: row.blob_key for row in rows}
    finally:
        engine.dispose()


def assert_stored_as_sent(server: Server, sent: dict[str, Path]) -> None:
    settings = Settings(data_dir=server.data_dir, database_url=server.database_url)
    index = archived(settings)
    missing = sorted(set(sent) - set(index))
    assert not missing, f"{len(missing)} acknowledged instances are not indexed: {missing[:3]}"
    blobs = BlobStore(server.data_dir / "blobs")
    for uid, path in sent.items():
        assert blobs.verify(index[uid]) is None, uid
        assert payload(blobs.path(index[uid])) == payload(path), f"{uid} differs from sent"


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest) -> Iterator[str | None]:
    """None (SQLite in the data directory) or a PostgreSQL database of its own."""
    if request.param == "sqlite":
        yield None
        return
    name = f"lysbord_crash_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def server(tmp_path: Path, database_url: str | None) -> Iterator[Server]:
    srv = Server(tmp_path / "data", database_url)
    yield srv
    srv.kill()


def plant_stale_temp_file(data_dir: Path) -> Path:
    """What a writer killed before its rename leaves, aged past the clean-up limit."""
    leftover = data_dir / "blobs" / "tmp" / "tmpkilledwriter"
    leftover.write_bytes(b"half of an instance")
    long_ago = time.time() - STALE_AFTER - 10
    os.utime(leftover, (long_ago, long_ago))
    return leftover


def test_acknowledged_instances_survive_kill_9(
    server: Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_config, "STORE_SEND_CHUNKED_DATASET", True)  # the files' bytes as-is
    paths = [p for i in range(5) for p in ct_series(tmp_path / f"s{i}", TOTAL // 5,
                                                     patient_id=random_cpr())]  # fmt: skip
    uids = {p: str(split_dataset(p)[0].MediaStorageSOPInstanceUID) for p in paths}
    server.start()
    go = threading.Event()
    thread = killer(server, go)
    statuses = send(server.port, paths, go)
    go.set()  # if fewer than KILL_AFTER succeeded, kill anyway and let the asserts tell
    thread.join(60)
    assert set(statuses) == {0}, f"failures before the kill: {set(statuses)}"
    assert KILL_AFTER <= len(statuses) < TOTAL, f"{len(statuses)} answered: not killed midway"
    acked = {uids[p]: p for p in paths[: len(statuses)]}
    leftovers = sorted(p.name for p in (server.data_dir / "blobs" / "tmp").iterdir())
    stale = plant_stale_temp_file(server.data_dir)

    server.start()
    assert_stored_as_sent(server, acked)
    checked = server.check()
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert not stale.exists(), "a stale temporary file survived the restart"
    assert set(leftovers) <= {p.name for p in (server.data_dir / "blobs" / "tmp").iterdir()}

    rest = paths[len(statuses) :]
    assert send(server.port, rest) == [0] * len(rest)
    assert_stored_as_sent(server, {uids[p]: p for p in paths})
    assert server.check().returncode == 0
    gc.collect()  # the leaked sockets warn now, under this module's filter, not at exit
