"""Modality Performed Procedure Step SCP (PS3.4 F.7): N-CREATE and N-SET from the scanners.

The handler decodes the message into a ``StepReport`` (the whole dataset kept as
DICOM JSON), calls the service, and answers. Refusals carry an Error Comment and
leave nothing behind, so the scanner may correct itself on the same association:

* 0x0111 duplicate SOP instance: N-CREATE for an MPPS UID we already have;
* 0x0106 invalid attribute value: a Performed Procedure Step Status we cannot take;
* 0x0112 no such SOP instance: N-SET for an MPPS we never saw;
* 0x0110 processing failure: the step is already completed or discontinued
  (PS3.4 F.7.2.2.2: it may no longer be updated), or a procedure cannot make
  the move (an illegal transition; the comment names its accession, and in a
  group case no procedure moves), or the items name different patients, or the
  database failed;
* 0x0118 no such SOP class: an N-CREATE/N-SET for another SOP class.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from typing import cast

from pydicom import Dataset
from pynetdicom import AE, evt
from pynetdicom.dimse_primitives import N_CREATE, N_SET
from pynetdicom.events import Event
from pynetdicom.sop_class import ModalityPerformedProcedureStep  # type: ignore[attr-defined]
from sqlalchemy.exc import SQLAlchemyError

from lysbord.dicom.deps import DoorDeps, Handler
from lysbord.dicom.peers import allowed, refused
from lysbord.dicom.store import failure
from lysbord.domain.errors import DuplicateIdentifier, InvalidValue, LysbordError, NotFound
from lysbord.services.core.context import Context
from lysbord.services.pathway.mpps import STATUS, ScheduledRef, StepReport, start_step, update_step

log = logging.getLogger(__name__)
MPPS = str(ModalityPerformedProcedureStep)
COMMENT_MAX = 64  # Error Comment is LO

Answer = tuple[int | Dataset, Dataset | None]


def install(ae: AE, deps: DoorDeps) -> list[Handler]:
    ae.add_supported_context(MPPS)
    return [
        (evt.EVT_N_CREATE, handle_create, [deps.ctx]),
        (evt.EVT_N_SET, handle_set, [deps.ctx]),
    ]


def handle_create(event: Event, ctx: Context) -> Answer:
    """N-CREATE: the scanner started a step (status must be IN PROGRESS)."""
    req = cast(N_CREATE, event.request)
    refusal = _refusal(ctx, event, str(req.AffectedSOPClassUID))
    if refusal is not None:
        return refusal, None
    ds = event.attribute_list
    given = str(req.AffectedSOPInstanceUID or "")
    uid = given or f"{ctx.settings.uid_root}.{uuid.uuid4().int}"
    report = StepReport(
        mpps_uid=uid,
        calling_ae=event.assoc.requestor.ae_title,
        status=_text(ds, STATUS),
        attributes=ds.to_json_dict(),
        refs=refs(ds),
        series_uids=series_uids(ds),
    )
    error = _run(start_step, ctx, report)
    if error is not None:
        return error, None
    if given:
        return 0x0000, None
    rsp = Dataset()  # pynetdicom moves it into the response's Affected SOP Instance UID
    rsp.AffectedSOPInstanceUID = uid
    return 0x0000, rsp


def handle_set(event: Event, ctx: Context) -> Answer:
    """N-SET: more attributes, and perhaps the end of the step (COMPLETED or DISCONTINUED)."""
    req = cast(N_SET, event.request)
    refusal = _refusal(ctx, event, str(req.RequestedSOPClassUID))
    if refusal is not None:
        return refusal, None
    ds = event.modification_list
    report = StepReport(
        mpps_uid=str(req.RequestedSOPInstanceUID or ""),
        calling_ae=event.assoc.requestor.ae_title,
        status=_text(ds, STATUS),
        attributes=ds.to_json_dict(),
        series_uids=series_uids(ds) if "PerformedSeriesSequence" in ds else None,
        reason=discontinuation_reason(ds),
    )
    error = _run(update_step, ctx, report)
    return (0x0000, None) if error is None else (error, None)


def _refusal(ctx: Context, event: Event, sop_class: str) -> Dataset | None:
    calling = event.assoc.requestor.ae_title
    if not allowed(ctx, calling, "mpps"):
        return refused(calling, "mpps")
    if sop_class != MPPS:
        return failure(0x0118, f"SOP class {sop_class} is not MPPS")
    return None


def _run(
    use_case: Callable[[Context, StepReport], object], ctx: Context, report: StepReport
) -> Dataset | None:
    """Call the service; translate what it refused into a status with an Error Comment."""
    try:
        use_case(ctx, report)
    except LysbordError as exc:
        return failure(status_for(exc), comment_for(exc))
    except SQLAlchemyError as exc:
        log.exception("MPPS %s could not be stored", report.mpps_uid)
        return failure(0x0110, f"database failed: {type(exc).__name__}")
    return None


def status_for(exc: LysbordError) -> int:
    if isinstance(exc, DuplicateIdentifier):
        return 0x0111
    if isinstance(exc, InvalidValue):
        return 0x0106
    if isinstance(exc, NotFound):
        return 0x0112
    return 0x0110  # already finished, illegal transition, any other rule


def comment_for(exc: LysbordError) -> str:
    """The most complete form of the message that fits in an LO (64 characters)."""
    forms = [exc.message, exc.reason, exc.reason.split(" (")[0]]
    if exc.field is not None and exc.value is not None:
        forms.insert(1, f"{exc.field} {exc.value!r}: {exc.reason}")
    return next((f for f in forms if len(f) <= COMMENT_MAX), forms[-1][:COMMENT_MAX])


def refs(ds: Dataset) -> list[ScheduledRef]:
    """The Scheduled Step Attributes Sequence: which booked steps this step performs.

    One item per scheduled step; several when one acquisition performs several
    requested procedures (IHE SWF group case), and the service moves each.
    """
    return [
        ScheduledRef(
            accession=_text(item, "AccessionNumber"),
            study_uid=_text(item, "StudyInstanceUID"),
            step_id=_text(item, "ScheduledProcedureStepID"),
            requested_procedure_id=_text(item, "RequestedProcedureID"),
        )
        for item in ds.get("ScheduledStepAttributesSequence") or []
    ]


def series_uids(ds: Dataset) -> list[str]:
    found = (_text(item, "SeriesInstanceUID") for item in ds.get("PerformedSeriesSequence") or [])
    return [uid for uid in found if uid]


def discontinuation_reason(ds: Dataset) -> str | None:
    """Code Meaning (or Code Value) of the Discontinuation Reason Code Sequence, if sent."""
    items = ds.get("PerformedProcedureStepDiscontinuationReasonCodeSequence") or []
    for item in items:
        text = _text(item, "CodeMeaning") or _text(item, "CodeValue")
        if text:
            return text
    return None


def _text(ds: Dataset, keyword: str) -> str:
    value = ds.get(keyword)
    return "" if value is None else str(value).strip()
