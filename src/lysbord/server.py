"""Runs the doors of one Lysbord node together and stops them gracefully.

The HTTP door runs in this process; the DICOM door runs in ``dicom_workers`` child
processes that share its port (SO_REUSEPORT), each with its own database engine;
they stop by themselves when this process dies, even by SIGKILL (``watch_parent``).
The HL7 MLLP door runs on its own thread and event loop in this process.
SIGINT/SIGTERM stop HTTP first (open requests finish), then the DICOM workers.
"""

from __future__ import annotations

import logging
import multiprocessing
import signal
import threading
from collections.abc import Sequence
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess
from types import FrameType

import uvicorn

from lysbord.api.app import create_app
from lysbord.bootstrap import build_context
from lysbord.config import Settings
from lysbord.hl7.door import Hl7Door
from lysbord.hl7.worker import start_outbound
from lysbord.services.context import Context
from lysbord.services.outbox import subscribe

log = logging.getLogger(__name__)
READY = b"ready"


def serve(ctx: Context) -> None:
    """Serve until interrupted."""
    s = ctx.settings
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    hl7_door = Hl7Door(ctx)  # binds its port now: a port in use fails before anything starts
    workers: Sequence[BaseProcess] = ()
    outbound = None
    try:  # a SIGTERM while starting also stops what has started (workers: watch_parent)
        workers = start_dicom_workers(s)
        outbound = start_outbound(ctx)
        hl7_door.start()
        app = create_app(ctx)
        app.state.dicom_workers = workers  # the status page counts the live ones
        config = uvicorn.Config(
            app, host=s.http_host, port=s.http_port, log_level="info", access_log=False
        )
        log.info(
            "HTTP on http://%s:%d, DICOM %s on %s:%d (%d processes)",
            s.http_host,
            s.http_port,
            s.ae_title,
            s.dicom_host,
            s.dicom_port,
            len(workers),
        )
        uvicorn.Server(config).run()
    finally:
        hl7_door.stop()  # messages being applied finish and are answered first
        if outbound is not None:
            outbound.stop()
        stop_workers(workers)
        ctx.db.dispose()


def _exit_on_sigterm(signum: int, frame: FrameType | None) -> None:
    """Leave through ``serve``'s ``finally`` (doors stopped, workers joined).

    uvicorn handles SIGTERM itself, then restores the previous handler and raises the
    signal again: with the default handler that kills this process before it stops
    the HL7 door and the DICOM workers.
    """
    raise SystemExit(128 + signum)


def start_dicom_workers(settings: Settings) -> Sequence[BaseProcess]:
    spawn = multiprocessing.get_context("spawn")
    # A pipe, not an Event, says "ready": Event.set() waits for the waiter to wake,
    # forever if the parent was killed meanwhile, and the worker would never stop.
    pipes = [spawn.Pipe(duplex=False) for _ in range(settings.dicom_workers)]
    workers = [
        spawn.Process(
            target=dicom_worker,
            args=(settings.model_dump(), writer),
            name=f"lysbord-dicom-{i}",
            daemon=True,
        )
        for i, (_, writer) in enumerate(pipes)
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


def watch_parent(stop: threading.Event) -> None:
    """Set ``stop`` when the parent process dies, however it dies (SIGKILL included).

    multiprocessing keeps a pipe to each spawned child whose write end only the
    parent holds; the kernel closes it when the parent dies, and the child's end
    (``parent_process().sentinel``) becomes readable. Without this watch a killed
    ``lysbord serve`` would leave its workers listening on the DICOM port.
    """
    parent = multiprocessing.parent_process()
    if parent is None:
        raise RuntimeError("a DICOM worker must run in a process of its own")
    sentinel = parent.sentinel

    def watch() -> None:
        wait([sentinel])
        log.warning("the serve process is gone: stopping this DICOM worker")
        stop.set()

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def dicom_worker(settings: dict[str, object], ready: Connection) -> None:
    """One DICOM process: its own engine, the shared port, until SIGTERM or the parent dies."""
    from lysbord.dicom.server import DicomDoor

    stop = threading.Event()
    watch_parent(stop)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(processName)s %(name)s: %(message)s"
    )
    # pynetdicom logs every DIMSE message at INFO: that alone halves the ingest rate.
    logging.getLogger("pynetdicom").setLevel(logging.WARNING)
    ctx = build_context(Settings.model_validate(settings), migrate=False)
    subscribe(ctx.db.engine, ctx.settings.hl7_out)  # MPPS moves send ORM status too
    door = DicomDoor(ctx)
    door.start()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when we stop
    try:
        ready.send_bytes(READY)
    except OSError:
        pass  # the parent is gone: watch_parent has set stop
    ready.close()
    stop.wait()
    door.stop()
    ctx.db.dispose()
