"""Storing a demo study the way a scanner's C-STORE is stored, so the pathway sees a real arrival.

Each instance is encoded as it travels (explicit VR little endian, RLE pixel data),
its header read by the DICOM door's reader, its blob made durable by the blob store
(several at once: the waits are the disk's), then the study indexed in one transaction
by ``index_instances``, which reconciles it: the accession links it to its procedure
(images received), the room's AE title names the acquiring site.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

from lysbord.demo.images import Exam, instances
from lysbord.demo.images.dataset import TRANSFER_SYNTAX, Encoder
from lysbord.demo.region_data import CATALOGUE, SITES
from lysbord.dicomcodec.header import read_header
from lysbord.dicomcodec.meta import file_meta
from lysbord.domain.calendar import COPENHAGEN
from lysbord.services.archive.storing import InstanceIds, Received, index_instances
from lysbord.services.core.context import Context
from lysbord.services.pathway import worklist
from lysbord.store.blobs import BlobStore, Stored

WRITERS = 4
BODY_PART = {code: body for code, _n, _m, _d, body, _p in CATALOGUE}
SITE_NAMES = {site.code: site.name for site in SITES}


class DemoArchive:
    """The demo's scanners sending to the archive under ``blobs``."""

    def __init__(self, blobs: BlobStore) -> None:
        self.blobs = blobs
        self.ids = InstanceIds()
        self.studies = self.instances = 0
        self._pool = ThreadPoolExecutor(WRITERS, thread_name_prefix="demo-store")

    def close(self) -> None:
        self._pool.shutdown()

    def store(self, ctx: Context, exam: Exam) -> int:
        """Send the exam's study at ``ctx``'s time; how many instances it had."""
        received: list[Received] = []
        parts: list[list[bytes]] = []
        encoder = Encoder()
        for instance in instances(exam):
            data = encoder.encode(instance)
            sop, uid = instance.sop_class_uid, instance.sop_instance_uid
            header = read_header(data, TRANSFER_SYNTAX)
            received.append(Received(sop, uid, TRANSFER_SYNTAX, header, exam.ae_title))
            parts.append([file_meta(sop, uid, TRANSFER_SYNTAX), data])
        blobs: list[Stored] = list(self._pool.map(self.blobs.put, parts))
        outcomes = index_instances(ctx, list(zip(received, blobs, strict=True)), self.ids)
        self.studies += 1
        self.instances += len(outcomes)
        return len(outcomes)


def scheduled_exam(ctx: Context, accession: str, started: datetime) -> Exam:
    """The exam as the room's scanner reads it from its worklist (the procedure is booked
    or arrived), to be started at ``started``."""
    item = next(iter(worklist.find_items(ctx, worklist.WorklistQuery(accession=accession))))
    return Exam(
        accession=item.accession,
        study_uid=item.study_uid,
        patient_id=item.patient_id,
        issuer=item.issuer,
        family_name=item.family_name,
        given_name=item.given_name,
        birth_date=item.birth_date,
        sex=item.sex,
        code=item.code,
        code_name=item.code_name,
        modality=item.modality,
        body_part=BODY_PART[item.code],
        ae_title=item.ae_title,
        institution=SITE_NAMES[item.site_code],
        started=started.astimezone(COPENHAGEN),
        referring_unit=item.referring_unit,
    )
