"""Storage Commitment Push Model SCP (PS3.4 Annex J): N-ACTION in, N-EVENT-REPORT out.

N-ACTION (Action Type ID 1, Transaction UID, Referenced SOP Sequence) is answered
with success only after the request is stored (services/archive/commitment.py). The report
goes out later, from a background thread of this door process, over a *new*
association to the requester's address in ``dicom_peers``: Lysbord then requests
the association and proposes SCP/SCU Role Selection with SCU-role 0 and SCP-role 1
(it is the Storage Commitment SCP sending N-EVENT-REPORT, PS3.4 J.3.3), and the
requester accepts the SCU role. Failed attempts are retried with backoff; pending
requests survive a restart because they live in ``commitment_requests``.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any, cast

from pydicom import Dataset
from pynetdicom import AE, build_role, evt
from pynetdicom.dimse_primitives import N_ACTION
from pynetdicom.events import Event
from sqlalchemy.exc import SQLAlchemyError

from lysbord.dicom.deps import DoorDeps, Handler
from lysbord.dicom.peers import allowed, destination, refused
from lysbord.dicom.store import failure
from lysbord.services.archive.commitment import (
    CommitmentReport,
    Reference,
    deliver,
    due_requests,
    request_commitment,
)
from lysbord.services.core.context import Context

log = logging.getLogger(__name__)

STORAGE_COMMITMENT = "1.2.840.10008.1.20.1"  # Storage Commitment Push Model SOP Class
WELL_KNOWN_INSTANCE = "1.2.840.10008.1.20.1.1"  # its well-known SOP Instance (PS3.4 Annex J)
REQUEST_STORAGE_COMMITMENT = 1  # the only Action Type ID of the Push Model
POLL_SECONDS = 1.0  # how often the worker looks for due retries when nobody wakes it
SETTLE_SECONDS = 0.2  # let the N-ACTION response leave before the report association opens
TIMEOUT_SECONDS = 10  # connect, ACSE and DIMSE limits of one delivery (the row is locked meanwhile)


class DeliveryError(Exception):
    """The report could not be delivered this time; the message says why."""


def install(ae: AE, deps: DoorDeps) -> list[Handler]:
    """Accept N-ACTION for the Push Model and start this process's report worker."""
    ae.add_supported_context(STORAGE_COMMITMENT)
    worker = ReportWorker(deps.listening, deps.ctx)
    worker.start()
    deps.on_stop.append(worker.stop)
    return [(evt.EVT_N_ACTION, handle_action, [deps.ctx, worker.wake])]


def handle_action(event: Event, ctx: Context, wake: threading.Event) -> tuple[Any, None]:
    """Record the request, answer success, and wake the worker to send the report."""
    calling = str(event.assoc.requestor.ae_title).strip()
    if not allowed(ctx, calling, "commitment"):
        return refused(calling, "commitment"), None
    if destination(ctx, calling) is None:
        return failure(0x0124, f"AE {calling!r} has no address in dicom_peers"), None
    problem = _check_request(cast(N_ACTION, event.request))
    if problem is not None:
        return problem, None
    try:
        transaction_uid, refs = parse_action(_action_information(event))
    except ValueError as exc:
        return failure(0x0115, str(exc)), None
    try:
        request_commitment(ctx, transaction_uid, calling, refs)
    except SQLAlchemyError as exc:
        log.exception("cannot record commitment request %s", transaction_uid)
        return failure(0x0213, f"cannot record the request: {type(exc).__name__}"), None
    wake.set()
    return 0x0000, None


def _check_request(req: N_ACTION) -> Dataset | None:
    """PS3.4 Annex J: Action Type 1 on the well-known Storage Commitment instance."""
    if req.ActionTypeID != REQUEST_STORAGE_COMMITMENT:
        return failure(0x0123, f"Invalid ActionTypeID {req.ActionTypeID}: only 1 exists")
    if str(req.RequestedSOPInstanceUID) != WELL_KNOWN_INSTANCE:
        return failure(0x0117, f"Invalid instance {req.RequestedSOPInstanceUID}: use 1.20.1.1")
    return None


def _action_information(event: Event) -> Dataset:
    try:
        return event.action_information
    except Exception as exc:  # undecodable bytes: the requester's fault, not a processing failure
        raise ValueError(f"Action Information undecodable: {type(exc).__name__}") from exc


def parse_action(ds: Dataset) -> tuple[str, list[Reference]]:
    """Transaction UID and the Referenced SOP Sequence items; ValueError names what is wrong."""
    try:
        transaction_uid = str(ds.get("TransactionUID", "") or "")
        items = list(ds.get("ReferencedSOPSequence", []) or [])
        refs = [
            Reference(
                str(i.get("ReferencedSOPClassUID", "")), str(i.get("ReferencedSOPInstanceUID", ""))
            )
            for i in items
        ]
    except Exception as exc:  # pydicom decodes lazily: a broken element fails here
        raise ValueError(f"Action Information unreadable: {type(exc).__name__}") from exc
    if not transaction_uid:
        raise ValueError("missing TransactionUID")
    if not refs:
        raise ValueError("ReferencedSOPSequence is missing or empty")
    for n, ref in enumerate(refs, 1):
        if not ref.sop_class_uid or not ref.sop_instance_uid:
            raise ValueError(f"ReferencedSOPSequence item {n}: missing a UID")
    return transaction_uid, refs


def event_information(report: CommitmentReport, retrieve_ae: str) -> Dataset:
    """The N-EVENT-REPORT Event Information of PS3.4 J.3.3 for one report."""
    ds = Dataset()
    ds.TransactionUID = report.transaction_uid
    ds.RetrieveAETitle = retrieve_ae
    if report.committed:
        ds.ReferencedSOPSequence = [_item(r) for r in report.committed]
    if report.failed:
        ds.FailedSOPSequence = [_item(f.reference, f.reason) for f in report.failed]
    return ds


def _item(ref: Reference, reason: int | None = None) -> Dataset:
    item = Dataset()
    item.ReferencedSOPClassUID = ref.sop_class_uid
    item.ReferencedSOPInstanceUID = ref.sop_instance_uid
    if reason is not None:
        item.FailureReason = reason
    return item


def send_report(ctx: Context, report: CommitmentReport) -> None:
    """Deliver one report to the requester over a new association; DeliveryError if not."""
    address = destination(ctx, report.calling_ae)
    if address is None:
        raise DeliveryError(f"AE {report.calling_ae!r} is not in dicom_peers: no address")
    host, port = address
    assoc = _client(ctx).associate(
        host,
        port,
        ae_title=report.calling_ae,
        ext_neg=[build_role(STORAGE_COMMITMENT, scu_role=False, scp_role=True)],
    )
    where = f"{report.calling_ae}@{host}:{port}"
    if not assoc.is_established:
        raise DeliveryError(f"association with {where} {_why_not(assoc)}")
    try:
        if not any(cx.abstract_syntax == STORAGE_COMMITMENT for cx in assoc.accepted_contexts):
            raise DeliveryError(f"{where} did not accept the Storage Commitment context")
        info = event_information(report, ctx.settings.ae_title)
        status, _ = assoc.send_n_event_report(
            info, report.event_type, STORAGE_COMMITMENT, WELL_KNOWN_INSTANCE
        )
    finally:
        release(assoc)
    _check_status(status, where)


def release(assoc: Any) -> None:
    """Release the association and make sure its socket is closed.

    pynetdicom 3.0.4 (transport.AssociationSocket._shutdown_socket) skips close()
    when shutdown() raises, as it does once the peer has reset the connection; the
    socket then stays open until the garbage collector finds it.
    """
    raw = getattr(assoc.dul.socket, "socket", None)
    assoc.release()
    if raw is not None and not assoc.dul.is_alive():
        raw.close()


def _client(ctx: Context) -> AE:
    ae = AE(ae_title=ctx.settings.ae_title)
    ae.add_requested_context(STORAGE_COMMITMENT)
    ae.connection_timeout = ae.acse_timeout = ae.dimse_timeout = TIMEOUT_SECONDS
    ae.network_timeout = TIMEOUT_SECONDS
    return ae


def _why_not(assoc: Any) -> str:
    if assoc.is_rejected:
        return "was rejected"
    return "could not be made (connection refused, timed out or aborted)"


def _check_status(status: Dataset, where: str) -> None:
    code = status.get("Status")
    if code is None:
        raise DeliveryError(f"no N-EVENT-REPORT response from {where}")
    if code != 0x0000:
        comment = status.get("ErrorComment", "")
        raise DeliveryError(f"{where} answered N-EVENT-REPORT with 0x{code:04X} {comment}")


class ReportWorker:
    """Sends due reports while this process's door listens; one per DicomDoor.

    It follows the door's listener: DicomDoor.start sets ``listening`` once it listens,
    and the worker begins then; DicomDoor.stop clears it and calls ``stop``, which
    waits for a delivery in progress: a worker still delivering once the door is
    stopped would hold a database connection nobody closes.
    """

    def __init__(self, listening: threading.Event, ctx: Context) -> None:
        self._listening, self.ctx = listening, ctx
        self.wake = threading.Event()
        self._thread = threading.Thread(target=self._run, name="dicom-commitment", daemon=True)
        self._stopping = False

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 15.0) -> None:
        """End the worker: at once when idle, after its delivery when delivering."""
        self._stopping = True
        self.wake.set()
        self._thread.join(timeout)

    def listening(self) -> bool:
        return self._listening.is_set() and not self._stopping

    def _run(self) -> None:
        while not self.listening() and not self._stopping:
            time.sleep(POLL_SECONDS / 10)
        while self.listening():
            self.run_once()
            if self.wake.wait(POLL_SECONDS) and not self._stopping:
                self.wake.clear()
                time.sleep(SETTLE_SECONDS)

    def run_once(self) -> int:
        """One pass over the due requests; returns how many reports were delivered."""
        sent = 0
        try:
            for request_id in due_requests(self.ctx):
                if not self.listening():
                    break
                sent += deliver(self.ctx, request_id, lambda r: send_report(self.ctx, r))
        except Exception:  # the database may be away for a while; the next pass retries
            log.exception("storage commitment worker pass failed")
        return sent
