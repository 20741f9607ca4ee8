"""Runs the doors of one Lysbord node together and stops them gracefully.

The HTTP door runs in this process; the DICOM door runs in ``dicom_workers`` child
processes that share its port (SO_REUSEPORT), each with its own database engine.
The HL7 MLLP door runs on its own thread and event loop in this process.
SIGINT/SIGTERM stop HTTP first (open requests finish), then the DICOM workers.
"""

from __future__ import annotations

import logging
import multiprocessing
import signal
import threading
from collections.abc import Sequence
from multiprocessing.process import BaseProcess
from multiprocessing.synchronize import Event
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


def serve(ctx: Context) -> None:
    """Serve until interrupted."""
    s = ctx.settings
    hl7_door = Hl7Door(ctx)  # binds its port now: a port in use fails before anything starts
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
    try:
        uvicorn.Server(config).run()
    finally:
        hl7_door.stop()  # messages being applied finish and are answered first
        if outbound is not None:
            outbound.stop()
        stop_workers(workers)
        ctx.db.dispose()


def start_dicom_workers(settings: Settings) -> Sequence[BaseProcess]:
    spawn = multiprocessing.get_context("spawn")
    ready = [spawn.Event() for _ in range(settings.dicom_workers)]
    workers = [
        spawn.Process(
            target=dicom_worker,
            args=(settings.model_dump(), event),
            name=f"lysbord-dicom-{i}",
            daemon=True,
        )
        for i, event in enumerate(ready)
    ]
    for w in workers:
        w.start()
    for w, event in zip(workers, ready, strict=True):
        if not event.wait(60) or not w.is_alive():
            stop_workers(workers)
            raise RuntimeError(f"{w.name} did not start (exit code {w.exitcode})")
    return workers


def stop_workers(workers: Sequence[BaseProcess]) -> None:
    for w in workers:
        if w.is_alive():
            w.terminate()  # SIGTERM: the worker closes its listener and exits
    for w in workers:
        w.join(10)
        if w.is_alive():
            w.kill()


def dicom_worker(settings: dict[str, object], ready: Event) -> None:
    """One DICOM process: its own engine, the shared port, until SIGTERM."""
    from lysbord.dicom.server import DicomDoor

    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(processName)s %(name)s: %(message)s"
    )
    # pynetdicom logs every DIMSE message at INFO: that alone halves the ingest rate.
    logging.getLogger("pynetdicom").setLevel(logging.WARNING)
    ctx = build_context(Settings.model_validate(settings), migrate=False)
    subscribe(ctx.db.engine, ctx.settings.hl7_out)  # MPPS moves send ORM status too
    door = DicomDoor(ctx)
    door.start()
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when we stop
    ready.set()
    stop.wait()
    door.stop()
    ctx.db.dispose()
