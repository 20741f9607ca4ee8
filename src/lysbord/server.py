"""Runs the doors of one Lysbord node together and stops them gracefully.

The HTTP door runs in this process and in ``http_workers - 1`` child processes, all
accepting on the one listening socket this process binds (a GIL per process, so
parallel clients use every core). The DICOM door runs in ``dicom_workers`` child
processes, likewise on one socket bound here. On either, the least busy process takes
the next connection (``lysbord.sharing``).
Each child has its own database engine and stops by itself when this
process dies, even by SIGKILL (``watch_parent``). The HL7 MLLP door runs on its own
thread and event loop in this process. SIGINT/SIGTERM stop HTTP first (open requests
finish), then the child processes.
"""

from __future__ import annotations

import errno
import gc
import logging
import multiprocessing
import signal
import socket
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess
from types import FrameType
from typing import Any

import uvicorn

from lysbord.app import create_app
from lysbord.bootstrap import build_context
from lysbord.config import Settings
from lysbord.domain.errors import ConfigError, Msg
from lysbord.hl7.door import Hl7Door
from lysbord.hl7.worker import start_outbound
from lysbord.http.acceptor import HttpServer
from lysbord.services.core.context import Context
from lysbord.services.core.outbox import subscribe
from lysbord.sharing import Shared

log = logging.getLogger(__name__)
READY = b"ready"


def serve(ctx: Context) -> None:
    """Serve until interrupted."""
    s = ctx.settings
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    with _port_of("hl7", s.hl7_port):
        hl7_door = Hl7Door(ctx)  # binds its port now: a port in use fails before anything starts
    with _port_of("http", s.http_port):
        http = socket.create_server((s.http_host, s.http_port), backlog=2048)
    with _port_of("dicom", s.dicom_port):
        dicom = socket.create_server((s.dicom_host, s.dicom_port), backlog=128)
    workers: list[BaseProcess] = []
    outbound = None
    try:  # a SIGTERM while starting also stops what has started (workers: watch_parent)
        spawn = multiprocessing.get_context("spawn")
        dicom_loads = spawn.Array("i", s.dicom_workers)
        workers += start_children(
            dicom_worker, "dicom", s, [(dicom, dicom_loads, i) for i in range(s.dicom_workers)]
        )
        pids = [w.pid or 0 for w in workers]
        http_loads = spawn.Array("i", s.http_workers)
        workers += start_children(
            http_worker, "http", s, [(http, http_loads, i, pids) for i in range(1, s.http_workers)]
        )
        outbound = start_outbound(ctx)
        hl7_door.start()
        log.info(
            "HTTP on http://%s:%d (%d processes), DICOM %s on %s:%d (%d processes)",
            s.http_host,
            http.getsockname()[1],
            s.http_workers,
            s.ae_title,
            s.dicom_host,
            dicom.getsockname()[1],
            s.dicom_workers,
        )
        server = _http_server(ctx, Shared(http, http_loads, 0), pids)
        settle()
        server.run()
    finally:
        hl7_door.stop()  # messages being applied finish and are answered first
        if outbound is not None:
            outbound.stop()
        stop_workers(workers)
        http.close()
        dicom.close()
        ctx.db.dispose()


@contextmanager
def _port_of(door: str, port: int) -> Iterator[None]:
    """A port that cannot be bound is one line naming it and the flag that changes it."""
    try:
        yield
    except OSError as exc:
        if exc.errno not in (errno.EADDRINUSE, errno.EACCES):
            raise
        why = Msg("is in use") if exc.errno == errno.EADDRINUSE else Msg("is not ours to bind")
        message = Msg(
            "{door} port {port} {why}: choose another with --{flag}-port",
            door=door.upper(),
            port=port,
            why=why,
            flag=door,
        )
        raise ConfigError(message) from None


def _http_server(ctx: Context, shared: Shared, dicom_pids: list[int]) -> HttpServer:
    app = create_app(ctx)
    app.state.dicom_pids = dicom_pids  # the status page counts the live ones
    config = uvicorn.Config(app, log_level="info", access_log=False)
    return HttpServer(config, shared)


def _exit_on_sigterm(signum: int, frame: FrameType | None) -> None:
    """Leave through ``serve``'s ``finally`` (doors stopped, workers joined).

    uvicorn handles SIGTERM itself, then restores the previous handler and raises the
    signal again: with the default handler that kills this process before it stops
    the HL7 door and the DICOM workers.
    """
    raise SystemExit(128 + signum)


def start_children(
    target: Callable[..., None],
    kind: str,
    settings: Settings,
    args: Sequence[tuple[Any, ...]],
) -> list[BaseProcess]:
    """Start one spawned process per ``args``; return once each has said it is ready.

    Each is called with the settings, its own ``args`` and the write end of its pipe.
    """
    spawn = multiprocessing.get_context("spawn")
    dumped = settings.model_dump()
    # A pipe, not an Event, says "ready": Event.set() waits for the waiter to wake,
    # forever if the parent was killed meanwhile, and the worker would never stop.
    pipes = [spawn.Pipe(duplex=False) for _ in args]
    workers: list[BaseProcess] = [
        spawn.Process(
            target=target,
            args=(dumped, *extra, writer),
            name=f"lysbord-{kind}-{i}",
            daemon=True,
        )
        for i, (extra, (_, writer)) in enumerate(zip(args, pipes, strict=True))
    ]
    for w in workers:
        w.start()
    for w, (reader, writer) in zip(workers, pipes, strict=True):
        writer.close()  # the worker holds its own end: EOF if it dies
        if not _said_ready(reader):
            stop_workers(workers)
            raise RuntimeError(f"{w.name} did not start (exit code {w.exitcode})")
    return workers


def _said_ready(reader: Connection, timeout: float = 60) -> bool:
    try:
        return reader.poll(timeout) and reader.recv_bytes() == READY
    except EOFError:  # the worker died first
        return False
    finally:
        reader.close()


def stop_workers(workers: Sequence[BaseProcess]) -> None:
    for w in workers:
        if w.is_alive():
            w.terminate()  # SIGTERM: the worker closes its listener and exits
    for w in workers:
        w.join(10)
        if w.is_alive():
            w.kill()


def watch_parent(on_gone: Callable[[], None]) -> None:
    """Call ``on_gone`` when the parent process dies, however it dies (SIGKILL included).

    multiprocessing keeps a pipe to each spawned child whose write end only the
    parent holds; the kernel closes it when the parent dies, and the child's end
    (``parent_process().sentinel``) becomes readable. Without this watch a killed
    ``lysbord serve`` would leave its workers listening on its ports.
    """
    parent = multiprocessing.parent_process()
    if parent is None:
        raise RuntimeError("a worker must run in a process of its own")
    sentinel = parent.sentinel

    def watch() -> None:
        wait([sentinel])
        log.warning("the serve process is gone: stopping this worker")
        on_gone()

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def _child_context(settings: dict[str, object]) -> Context:
    """A worker's own engine; events it records reach the HL7 destinations too."""
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(processName)s %(name)s: %(message)s"
    )
    ctx = build_context(Settings.model_validate(settings), migrate=False)
    subscribe(ctx.db.engine, ctx.settings.hl7_out)
    return ctx


def settle() -> None:
    """Move what start-up made out of the garbage collector's way (gc.freeze).

    A process of ours holds about 160,000 objects once its modules, mappers and DICOM
    dictionaries are loaded; a full collection walked them all, 85–95 ms holding the
    GIL. pynetdicom runs one every 60 passes of its accept loop, and every DICOM worker
    passes on every connection to any of them: a worklist query by findscu cost the
    workers 6 ms of CPU on average and now and then stalled for a collection. Frozen,
    they are never walked again; collections look at what came after (under 1 ms).
    """
    gc.collect()
    gc.freeze()


def _say_ready(ready: Connection) -> None:
    try:
        ready.send_bytes(READY)
    except OSError:
        pass  # the parent is gone: watch_parent stops this worker
    ready.close()


def dicom_worker(
    settings: dict[str, object], listener: socket.socket, loads: Any, slot: int, ready: Connection
) -> None:
    """One DICOM process: its own engine, the parent's socket, until SIGTERM or the parent dies."""
    from lysbord.dicom.server import DicomDoor

    stop = threading.Event()
    watch_parent(stop.set)
    ctx = _child_context(settings)
    # pynetdicom logs every DIMSE message at INFO: that alone halves the ingest rate.
    logging.getLogger("pynetdicom").setLevel(logging.WARNING)
    door = DicomDoor(ctx, Shared(listener, loads, slot))
    door.start()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when we stop
    settle()
    _say_ready(ready)
    stop.wait()
    door.stop()
    ctx.db.dispose()


def http_worker(
    settings: dict[str, object],
    listener: socket.socket,
    loads: Any,
    slot: int,
    dicom_pids: list[int],
    ready: Connection,
) -> None:
    """One more HTTP process on the parent's listening socket, until SIGTERM or the
    parent dies; open requests finish first either way (uvicorn's graceful exit)."""
    ctx = _child_context(settings)
    server = _http_server(ctx, Shared(listener, loads, slot), dicom_pids)

    def stop() -> None:
        server.should_exit = True

    watch_parent(stop)
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when we stop
    settle()
    _say_ready(ready)
    try:
        server.run()
    finally:
        ctx.db.dispose()
