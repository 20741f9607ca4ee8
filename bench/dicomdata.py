"""Benchmark data (DICOM files, a year of bookings) and the clients that send and ask.

100,000 files through pydicom would take minutes, so one template per image size is
encoded once and each instance is a copy with its UIDs, patient, accession, date and
instance number patched in place: every placeholder has exactly the length of its
value, so no element length (nor the file meta group length) changes.

Clients: DCMTK's storescu and findscu (with TCP_NODELAY=1, DOMAIN.md §8), and one
pynetdicom association with TCP_NODELAY for timing many C-FINDs; the same for every
server, so the comparison is of servers only.
"""

from __future__ import annotations

import atexit
import os
import random
import re
import socket
import subprocess
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import partial
from io import BytesIO
from pathlib import Path
from typing import Any

from pydicom import Dataset
from pydicom.dataset import FileMetaDataset
from pydicom.uid import UID, CTImageStorage, ExplicitVRLittleEndian
from pynetdicom import AE, _config, evt
from pynetdicom.sop_class import (  # type: ignore[attr-defined]
    StudyRootQueryRetrieveInformationModelFind,
)
from rich.progress import track
from sqlalchemy import select

from bench.common import console
from bench.orthanc import NODELAY, Peer
from lysbord.bootstrap import build_context
from lysbord.config import Settings
from lysbord.domain.calendar import local_date
from lysbord.domain.errors import LysbordError
from lysbord.domain.priorities import Priority
from lysbord.services.core.context import Context
from lysbord.services.pathway import booking, referrals
from lysbord.services.pathway.worklist import WorklistQuery, find_items
from lysbord.store.models import Appointment, PatientIdentifier, ProcedureCode, Room, Slot

SOP, STUDY, SERIES = "1.1." + "1" * 36, "1.2." + "2" * 36, "1.3." + "3" * 36  # 40 chars
PATIENT_ID, PATIENT_NAME, ACCESSION = "QPIDQQQQQQ", "BENCH^PQQQQQQQQ", "QACCQQQQQQ"
STUDY_DATE, NUMBER = "19000101", "99999"
FIRST_DAY = date(2025, 1, 1)
STUDY_DAYS = 730  # studies spread over two years, for StudyDate range queries
CLIENT_AET = "LBBENCH"
# The client's own per-message logging would count against every server alike: off.
_config.LOG_HANDLER_LEVEL = "none"
_config.LOG_REQUEST_IDENTIFIERS = _config.LOG_RESPONSE_IDENTIFIERS = False
_senders: set[subprocess.Popen[str]] = set()
#: What a viewer's study list asks for (the same keys from every server).
STUDY_KEYS = ("PatientName", "PatientID", "StudyDate", "StudyTime", "AccessionNumber",
              "StudyDescription", "ModalitiesInStudy", "StudyInstanceUID",
              "NumberOfStudyRelatedInstances")  # fmt: skip


@dataclass
class Corpus:
    """Files on disk, split into ``parts`` folders (one per association), and their index."""

    root: Path
    parts: list[Path]
    instances: int
    bytes: int
    patients: list[str] = field(default_factory=list)
    dates: list[str] = field(default_factory=list)


def template(size: int) -> tuple[bytes, bytes]:
    """A Part 10 CT file with placeholders, split before Pixel Data (never patched)."""
    ds = Dataset()
    ds.SpecificCharacterSet = "ISO_IR 192"
    ds.SOPClassUID, ds.SOPInstanceUID = CTImageStorage, SOP
    ds.StudyDate, ds.StudyTime, ds.AccessionNumber = STUDY_DATE, "081500", ACCESSION
    ds.Modality, ds.StudyDescription = "CT", "CT af thorax"
    ds.PatientName, ds.PatientID = PATIENT_NAME, PATIENT_ID
    ds.PatientBirthDate, ds.PatientSex = "", ""
    ds.StudyInstanceUID, ds.SeriesInstanceUID = STUDY, SERIES
    ds.StudyID, ds.SeriesNumber, ds.InstanceNumber = "1", 1, NUMBER
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.Rows = ds.Columns = size
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
    ds.PixelData = (bytes(range(251)) * (size * size * 2 // 251 + 1))[: size * size * 2]
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID, meta.MediaStorageSOPInstanceUID = CTImageStorage, UID(SOP)
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta = meta
    out = BytesIO()
    ds.save_as(out, enforce_file_format=True)
    data = out.getvalue()
    cut = data.rindex(b"\xe0\x7f\x10\x00")  # (7FE0,0010) Pixel Data
    return data[:cut], data[cut:]


def make_corpus(root: Path, *, studies: int, per_study: int, size: int, parts: int,
                patients: int, seed: int = 1) -> Corpus:  # fmt: skip
    """``studies`` × ``per_study`` CT images of ``size``², one series per study."""
    head, tail = template(size)
    rng = random.Random(seed)  # the same patients and dates every run
    run = random.SystemRandom().randrange(10**19, 10**20)  # UIDs unique to this run
    folders = [root / f"part{p:02d}" for p in range(parts)]
    corpus = Corpus(root, folders, 0, 0)
    for f in folders:
        f.mkdir(parents=True)
    for s in range(studies):
        patient = rng.randrange(patients)
        day = (FIRST_DAY + timedelta(days=rng.randrange(STUDY_DAYS))).strftime("%Y%m%d")
        corpus.patients.append(f"{patient:010d}")
        corpus.dates.append(day)
        study = {
            STUDY: _uid(run, 2, s), SERIES: _uid(run, 3, s), PATIENT_ID: f"{patient:010d}",
            PATIENT_NAME: f"BENCH^P{patient:08d}", ACCESSION: f"BA{s:08d}", STUDY_DATE: day,
        }  # fmt: skip
        folder = folders[s % parts] / f"s{s:05d}"
        folder.mkdir()
        for i in range(per_study):
            values = {**study, SOP: _uid(run, 1, s * per_study + i), NUMBER: f"{i + 1:05d}"}
            data = _patch(head, values) + tail
            (folder / f"i{i:04d}.dcm").write_bytes(data)
            corpus.instances += 1
            corpus.bytes += len(data)
    return corpus


def _uid(run: int, kind: int, n: int) -> str:
    return f"2.25.1{run:020d}{kind}{n:013d}"  # 40 characters, like the placeholders


def _patch(head: bytes, values: dict[str, str]) -> bytes:
    """Each placeholder replaced where the template has it, never inside a value already
    written: replacing in turn made the UID ``...99999`` of the 100,000th instance
    ``...00050`` when its InstanceNumber placeholder ``99999`` was replaced after it."""
    out = bytearray(head)
    for placeholder, value in values.items():
        assert len(placeholder) == len(value), (placeholder, value)
        for found in re.finditer(re.escape(placeholder.encode()), head):
            out[found.start() : found.end()] = value.encode()
    return bytes(out)


def dcmtk(tool: str, *args: str, timeout: float = 3600) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **NODELAY}
    return subprocess.run([tool, *args], capture_output=True, text=True, env=env,
                          timeout=timeout, check=False)  # fmt: skip


def storescu(peer: Peer, folder: Path) -> subprocess.Popen[str]:
    """One association sending every file under ``folder`` (recursively)."""
    cmd = ["storescu", "-aet", CLIENT_AET, "-aec", peer.aet, "+sd", "+r", "-nh",
           peer.host, str(peer.dicom_port), str(folder)]  # fmt: skip
    proc = subprocess.Popen(cmd, env={**os.environ, **NODELAY}, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)  # fmt: skip
    _senders.add(proc)
    return proc


def send(peer: Peer, folders: Sequence[Path]) -> float:
    """Send each folder on its own association, all at once; seconds until the last ends."""
    start = time.perf_counter()
    procs = [storescu(peer, f) for f in folders]
    try:
        errors = [p.communicate()[1] for p in procs]
    finally:
        stop_senders(procs)
    seconds = time.perf_counter() - start
    for p, err in zip(procs, errors, strict=True):
        if p.returncode != 0:
            raise RuntimeError(f"storescu to {peer.name} failed ({p.returncode}): {err[-500:]}")
    return seconds


def stop_senders(procs: Iterable[subprocess.Popen[str]] | None = None) -> None:
    """Kill storescu processes still running (all of them by default): on interruption."""
    for proc in list(_senders if procs is None else procs):
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        _senders.discard(proc)


atexit.register(stop_senders)


def study_query(**keys: str) -> Dataset:
    """A Study Root STUDY-level identifier asking for the keys a viewer's study list shows."""
    ds = Dataset()
    ds.QueryRetrieveLevel = "STUDY"
    for key in STUDY_KEYS:
        setattr(ds, key, keys.get(key, ""))
    return ds


WORKLIST_KEYS = (
    "PatientName",
    "PatientID",
    "PatientBirthDate",
    "PatientSex",
    "AccessionNumber",
    "RequestedProcedureID",
    "RequestedProcedureDescription",
    "StudyInstanceUID",
)
STEP_KEYS = ("Modality", "ScheduledProcedureStepStartTime", "ScheduledProcedureStepID",
             "ScheduledProcedureStepDescription", "ScheduledPerformingPhysicianName")  # fmt: skip


def worklist_findscu(peer: Peer, station: str, day: str) -> tuple[int, float]:
    """What a scanner asks each morning, its station's steps on one day, by DCMTK findscu.

    A process and an association each, as a script would run it; returns matches and ms.
    """
    step = "ScheduledProcedureStepSequence[0]."
    args = ["-W", "-v", "-aet", station, "-aec", peer.aet, "-k", "SpecificCharacterSet=ISO_IR 192",
            "-k", f"{step}ScheduledStationAETitle={station}",
            "-k", f"{step}ScheduledProcedureStepStartDate={day}"]  # fmt: skip
    for key in WORKLIST_KEYS:
        args += ["-k", key]
    for key in STEP_KEYS:
        args += ["-k", step + key]
    start = time.perf_counter()
    result = dcmtk("findscu", *args, peer.host, str(peer.dicom_port), timeout=60)
    took = (time.perf_counter() - start) * 1000
    if result.returncode != 0:
        raise RuntimeError(f"findscu to {peer.name} failed: {result.stderr[-500:]}")
    return (result.stdout + result.stderr).count("(Pending)"), took


class FindClient:
    """One association, many C-FINDs; each timed from request to final response."""

    def __init__(self, assoc: Any, model: str) -> None:
        self.assoc, self.model = assoc, model

    def find(self, identifier: Dataset) -> tuple[int, float]:
        """The number of matches and the milliseconds it took."""
        start = time.perf_counter()
        matches = 0
        for status, found in self.assoc.send_c_find(identifier, self.model):
            if not status or status.Status not in (0x0000, 0xFF00, 0xFF01):
                raise RuntimeError(f"C-FIND failed: {status}")
            matches += found is not None and status.Status != 0x0000
        return matches, (time.perf_counter() - start) * 1000


@contextmanager
def find_client(peer: Peer) -> Iterator[FindClient]:
    model = StudyRootQueryRetrieveInformationModelFind
    ae = AE(ae_title=CLIENT_AET)
    ae.add_requested_context(model)
    assoc = ae.associate(peer.host, peer.dicom_port, ae_title=peer.aet,
                         evt_handlers=[(evt.EVT_CONN_OPEN, _nodelay)])  # fmt: skip
    if not assoc.is_established:
        raise RuntimeError(f"{peer.name} refused the association for {model.name}")
    _keep_responses(assoc)
    try:
        yield FindClient(assoc, model)
    finally:
        assoc.release()
        ae.shutdown()


def _keep_responses(assoc: Any) -> None:
    """Give back a response that pynetdicom's requestor reactor took off the queue.

    pynetdicom 3.0.4 pauses that reactor while ``send_c_find`` waits for responses, but
    with a flag read without a lock: against a server that answers within a thread
    switch, the reactor sometimes takes the first response itself, warns "unexpected
    C-FIND service message", and ``send_c_find`` waits for it until its timeout.
    """
    serve = assoc._serve_request

    def serve_request(msg: Any, context_id: int) -> None:
        if msg.is_valid_request:
            serve(msg, context_id)
            return
        queue = assoc.dimse.msg_queue
        with queue.mutex:
            queue.queue.appendleft((context_id, msg))
            queue.not_empty.notify()

    assoc._serve_request = serve_request


def _nodelay(event: Any) -> None:
    """pynetdicom never sets TCP_NODELAY; a two-PDU request would wait on Nagle."""
    event.assoc.dul.socket.socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


def findscu(peer: Peer, keys: dict[str, str]) -> None:
    """One study-level query in its own findscu process (what a script would run)."""
    args = ["-S", "-aet", CLIENT_AET, "-aec", peer.aet, "-k", "QueryRetrieveLevel=STUDY"]
    for key in STUDY_KEYS:
        args += ["-k", f"{key}={keys[key]}" if keys.get(key) else key]
    result = dcmtk("findscu", *args, peer.host, str(peer.dicom_port), timeout=60)
    if result.returncode != 0:
        raise RuntimeError(f"findscu to {peer.name} failed: {result.stderr[-500:]}")


# -- a year of bookings in one room, for the worklist -------------------------------------


def book_room(folder: Path, url: str | None, station: str, days: int) -> dict[date, int]:
    """Book every free slot of ``station``'s room for ``days`` days, through the services
    (a fresh routine referral for a demo patient each); the worklist size of each day."""
    ctx = build_context(Settings(data_dir=folder, database_url=url), migrate=False)
    try:
        slots, codes, cprs = _free_slots(ctx, station, days)
        rng = random.Random(5)
        for slot_id, minutes in track(slots, description=f"booking {station}", console=console):
            code = rng.choice([c for c, need in codes if need <= minutes])
            try:
                cmd = referrals.NewReferral(
                    cpr=rng.choice(cprs),
                    referring_unit="Bench",
                    clinical_question="Benchmark",
                    priority=Priority.ROUTINE,
                    procedures=[code],
                )
                accession = referrals.create_referral(ctx, cmd, "bench").procedures[0].accession
                booking.book(ctx, accession, slot_id, "bench")
            except LysbordError:  # a merged patient, a blocked slot: the clerk moves on
                continue
        today = local_date(ctx.now())
        span = (today + timedelta(days=d) for d in range(days + 1))
        query = partial(WorklistQuery, ae_title=station)
        sizes = {d: len(find_items(ctx, query(date_from=d, date_to=d))) for d in span}
        return {d: n for d, n in sizes.items() if n}
    finally:
        ctx.db.dispose()


def _free_slots(ctx: Context, station: str, days: int
                ) -> tuple[list[tuple[int, int]], list[tuple[str, int]], list[str]]:  # fmt: skip
    now = ctx.now()
    with ctx.uow(readonly=True) as uow:
        s = uow.session
        room = s.scalars(select(Room).where(Room.ae_title == station)).one()
        taken = select(Appointment.slot_id).where(Appointment.active.is_(True))
        slots = s.execute(
            select(Slot.id, Slot.minutes)
            .where(Slot.room_id == room.id, Slot.id.not_in(taken))
            .where(Slot.start_at > now + timedelta(hours=1))
            .where(Slot.start_at < now + timedelta(days=days))
            .order_by(Slot.start_at)
        ).tuples()
        codes = s.execute(
            select(ProcedureCode.code, ProcedureCode.duration_minutes).where(
                ProcedureCode.modality == room.modality
            )
        ).tuples()
        cprs = list(s.scalars(select(PatientIdentifier.value).limit(2000)))
        return list(slots), list(codes), cprs
