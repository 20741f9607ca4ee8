"""The servers under test: Debian's Orthanc (the comparison peer) and Lysbord itself.

Never the system service (``service orthanc stop`` kills every Orthanc on the machine):
one ``Orthanc`` process per measurement, its storage and index in a temporary folder,
on free loopback ports, no plugins (only orthanc-dicomweb, for the DICOMweb benchmark),
with the settings DOMAIN.md §8 calls fair. Lysbord
runs as a user runs it: ``lysbord serve`` over a temporary data folder (SQLite) or a
fresh PostgreSQL database. Both are process groups of their own, stopped at the end
of each measurement and, if the benchmark is interrupted, by atexit (and SIGTERM).
"""

from __future__ import annotations

import atexit
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

import httpx2 as httpx
from sqlalchemy import create_engine, text

from bench.common import PG_ADMIN_URL

ORTHANC = os.environ.get("LYSBORD_BENCH_ORTHANC", "/usr/sbin/Orthanc")
#: Orthanc's own default (16 KB); Lysbord accepts any PDU size (DOMAIN.md §8).
ORTHANC_PDU = int(os.environ.get("LYSBORD_BENCH_ORTHANC_PDU", "16384"))
#: Debian's orthanc-dicomweb: loaded only for the DICOMweb benchmark (``orthanc(dicomweb=True)``).
DICOMWEB_PLUGIN = os.environ.get(
    "LYSBORD_BENCH_ORTHANC_DICOMWEB", "/usr/share/orthanc/plugins/libOrthancDicomWeb.so"
)
#: Debian's DCMTK, and so Orthanc, leave Nagle's algorithm on without it (DOMAIN.md §8).
NODELAY = {"TCP_NODELAY": "1"}
_live: dict[int, subprocess.Popen[bytes]] = {}


@dataclass(frozen=True)
class Peer:
    """A running DICOM server under test: where it listens and how to count what it holds."""

    name: str
    aet: str
    dicom_port: int
    http_port: int
    count_instances: Callable[[], int]
    folder: Path
    host: str = "127.0.0.1"
    pid: int = 0  # leads the server's process group (start_new_session): its CPU is counted


def free_ports(n: int) -> list[int]:
    """``n`` distinct free ports: each socket stays bound until all are chosen, so the
    kernel cannot hand out one port twice (which once gave DICOM and HL7 the same)."""
    with ExitStack() as held:
        sockets = [held.enter_context(socket.socket()) for _ in range(n)]
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [int(s.getsockname()[1]) for s in sockets]


def wait_until(check: Callable[[], bool], timeout: float, what: str) -> None:
    """Poll ``check`` until it is true; TimeoutError naming ``what`` otherwise."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except (OSError, httpx.HTTPError):
            pass
        time.sleep(0.2)
    raise TimeoutError(f"{what}: not ready after {timeout:g} s")


def http_ok(url: str) -> bool:
    return httpx.get(url, timeout=2).status_code == 200


def start_process(cmd: Sequence[str], env: Mapping[str, str], log: Path) -> subprocess.Popen[bytes]:
    """Start ``cmd`` in a session of its own (its children stop with it), logging to ``log``."""
    with log.open("wb") as out:
        proc = subprocess.Popen(
            list(cmd), env=dict(env), stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    _live[proc.pid] = proc
    return proc


def stop_process(proc: subprocess.Popen[bytes], grace: float = 15) -> None:
    """SIGTERM to the process group this benchmark created, SIGKILL if it lingers."""
    if proc.poll() is None:
        _signal_group(proc, signal.SIGTERM)
        try:
            proc.wait(grace)
        except subprocess.TimeoutExpired:
            _signal_group(proc, signal.SIGKILL)
            proc.wait(10)
    _signal_group(proc, signal.SIGKILL)  # children left behind by a dead parent
    _live.pop(proc.pid, None)


def _signal_group(proc: subprocess.Popen[bytes], sig: int) -> None:
    try:
        os.killpg(proc.pid, sig)  # the group id is the pid: start_new_session=True
    except ProcessLookupError:
        pass


def _stop_all() -> None:
    for proc in list(_live.values()):
        stop_process(proc, grace=5)


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(f"stopped by signal {signum}")  # runs every finally block and atexit


atexit.register(_stop_all)
signal.signal(signal.SIGTERM, _on_sigterm)


@contextmanager
def temp_folder(prefix: str) -> Iterator[Path]:
    folder = Path(tempfile.mkdtemp(prefix=prefix))
    atexit.register(shutil.rmtree, folder, True)
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def configuration(
    folder: Path, http_port: int, dicom_port: int, move_to: Peer | None, dicomweb: bool = False
) -> dict[str, object]:
    """Orthanc's JSON configuration for one benchmark run (no plugins unless ``dicomweb``)."""
    modalities = {move_to.aet: [move_to.aet, move_to.host, move_to.dicom_port]} if move_to else {}
    return {
        "Name": "lysbord-bench",
        "StorageDirectory": str(folder / "storage"),
        "IndexDirectory": str(folder / "index"),
        "StorageCompression": False,
        "Plugins": [DICOMWEB_PLUGIN] if dicomweb else [],
        "DicomWeb": {"Enable": dicomweb, "Root": "/dicomweb/"},  # Lysbord's path too
        "HttpPort": http_port,
        "DicomPort": dicom_port,
        "DicomAet": "ORTHANC",
        "DicomCheckCalledAet": False,
        "DicomAlwaysAllowEcho": True,
        "DicomAlwaysAllowFind": True,
        "DicomAlwaysAllowGet": True,
        "DicomAlwaysAllowMove": True,
        "DicomAlwaysAllowStore": True,
        "DicomModalities": modalities,
        "RemoteAccessAllowed": False,
        "AuthenticationEnabled": False,
        "MaximumPduLength": ORTHANC_PDU,
        "SaveJobs": False,
    }


@contextmanager
def orthanc(move_to: Peer | None = None, *, dicomweb: bool = False) -> Iterator[Peer]:
    """A fresh, empty Orthanc on free ports; stopped and its folder removed afterwards."""
    if shutil.which(ORTHANC) is None:
        raise RuntimeError(f"{ORTHANC} not found: run 'make bench-deps' (installs orthanc)")
    with temp_folder("lysbord-bench-orthanc-") as folder:
        http_port, dicom_port = free_ports(2)
        config = folder / "orthanc.json"
        settings = configuration(folder, http_port, dicom_port, move_to, dicomweb)
        config.write_text(json.dumps(settings))
        env = {**os.environ, **NODELAY}
        proc = start_process([ORTHANC, str(config)], env, folder / "orthanc.log")
        try:
            base = f"http://127.0.0.1:{http_port}"
            wait_until(lambda: _up(proc, base, folder / "orthanc.log"), 60, "Orthanc")

            def count() -> int:
                return int(httpx.get(f"{base}/statistics", timeout=30).json()["CountInstances"])

            yield Peer("Orthanc", "ORTHANC", dicom_port, http_port, count, folder, pid=proc.pid)
        finally:
            stop_process(proc)


def _up(proc: subprocess.Popen[bytes], base: str, log: Path) -> bool:
    return _alive(proc, log) and http_ok(f"{base}/system")


# -- Lysbord, started as a user starts it ------------------------------------------------

LYSBORD = Path(sys.executable).with_name("lysbord")


@contextmanager
def lysbord_database(backend: str) -> Iterator[tuple[Path, str | None]]:
    """A data folder and, for PostgreSQL, a fresh database; both removed afterwards.

    Yields the folder and the ``--database-url`` to pass (None: the SQLite default).
    """
    with temp_folder(f"lysbord-bench-{backend}-") as folder:
        if backend == "sqlite":
            yield folder, None
            return
        name = f"lysbord_bench_dicom_{os.getpid()}_{folder.name[-8:].lower()}"
        _pg(f'CREATE DATABASE "{name}"')
        atexit.register(_pg, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        try:
            yield folder, PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
        finally:
            _pg(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _pg(statement: str) -> None:
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(statement))
    finally:
        admin.dispose()


def lysbord_env() -> dict[str, str]:
    """The user's environment without benchmark settings, accepting storescu's default AE
    and DICOMweb clients without sign-in (Orthanc's DICOMweb runs without one here too)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LYSBORD_")}
    return {
        **env,
        **NODELAY,
        "LYSBORD_DICOM_ALLOW_ANY_PEER": "true",
        "LYSBORD_DICOMWEB__REQUIRE_SIGN_IN": "false",
    }


def lysbord_cli(*args: str, folder: Path, url: str | None) -> list[str]:
    return [
        str(LYSBORD),
        *args,
        "--data-dir",
        str(folder),
        *(["--database-url", url] if url else []),
    ]


@contextmanager
def lysbord(folder: Path, url: str | None, backend: str) -> Iterator[Peer]:
    """``lysbord serve`` on free ports over ``folder``/``url``, ready for DICOM; then stopped."""
    http_port, dicom_port, hl7_port = free_ports(3)  # two servers at once must not share 2575
    cmd = lysbord_cli("serve", folder=folder, url=url)
    cmd += ["--http-port", str(http_port), "--dicom-port", str(dicom_port)]
    cmd += ["--hl7-port", str(hl7_port)]
    log = folder / "serve.log"
    proc = start_process(cmd, lysbord_env(), log)
    db_url = url or f"sqlite:///{folder / 'lysbord.db'}"
    peer = Peer(f"Lysbord ({backend})", "LYSBORD", dicom_port, http_port,
                lambda: _count(db_url), folder, pid=proc.pid)  # fmt: skip
    try:
        health = f"http://127.0.0.1:{http_port}/api/v1/health"
        wait_until(lambda: _alive(proc, log) and http_ok(health), 120, f"lysbord serve ({log})")
        wait_until(lambda: _echo(peer), 60, f"Lysbord's DICOM door ({log})")
        yield peer
    finally:
        stop_process(proc)


def _alive(proc: subprocess.Popen[bytes], log: Path) -> bool:
    if proc.poll() is not None:
        tail = log.read_text(errors="replace")[-2000:]
        raise RuntimeError(f"{proc.args!r} exited with status {proc.returncode}:\n{tail}")
    return True


def _echo(peer: Peer) -> bool:
    cmd = ["echoscu", "-aec", peer.aet, peer.host, str(peer.dicom_port)]
    env = {**os.environ, **NODELAY}
    return subprocess.run(cmd, env=env, capture_output=True, timeout=30).returncode == 0


def _count(db_url: str) -> int:
    engine = create_engine(db_url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(text("SELECT count(*) FROM instances")).scalar_one())
    finally:
        engine.dispose()
