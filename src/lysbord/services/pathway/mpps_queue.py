"""The unmatched MPPS queue: performed steps naming a scheduled step no procedure claims.

A scanner that works off the worklist, or an item with a mistyped accession in a
group case, still reports a step (``services/pathway/mpps.py`` keeps it with an
``unmatched_reason``); like an unmatched study it must be visible until a person has
looked at it. Each entry says what a person needs to recognise the exam: the
station, when it started, the patient the scanner named, and every scheduled step
it named (accession / step id / Study Instance UID), read from the message as
received (its DICOM JSON), next to the procedures it did resolve to.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select

from lysbord.services.core.context import Context
from lysbord.services.pathway import mpps_links as links
from lysbord.services.pathway.mpps_links import ScheduledRef
from lysbord.store.archive_models import PerformedStep

PATIENT_ID, PATIENT_NAME = "00100020", "00100010"
SCHEDULED_STEPS = "00400270"  # Scheduled Step Attributes Sequence (0040,0270)
#: The item attributes that name a scheduled step (PS3.3 C.4.13), as ScheduledRef fields.
ITEM_KEYS = {
    "accession": "00080050",
    "study_uid": "0020000D",
    "step_id": "00400009",
    "requested_procedure_id": "00401001",
}


@dataclass(frozen=True, slots=True)
class UnmatchedStep:
    """One step a person must look at; ``named`` is every item as accession/step/study."""

    mpps_uid: str
    calling_ae: str
    status: str
    started_at: datetime
    patient_key: str
    patient_name: str
    unmatched_reason: str
    unmatched_message: dict[str, Any] | None = None
    named: list[str] = field(default_factory=list)
    accessions: list[str] = field(default_factory=list)


def unmatched_steps(
    ctx: Context, limit: int = 50, offset: int = 0
) -> tuple[list[UnmatchedStep], int]:
    """Steps with scheduled steps no procedure claims, oldest first (the longest waiting
    on top), and how many there are."""
    stmt = select(PerformedStep).where(PerformedStep.unmatched_reason.is_not(None))
    with ctx.uow(readonly=True) as uow:
        s = uow.session
        total = s.scalar(select(func.count()).select_from(stmt.subquery())) or 0
        order = (PerformedStep.created_at, PerformedStep.id)
        page = s.scalars(stmt.order_by(*order).limit(limit).offset(offset)).all()
        performs = links.accessions(s, [step.id for step in page])
        return [_view(step, performs[step.id]) for step in page], total


def _view(step: PerformedStep, accessions: list[str]) -> UnmatchedStep:
    attrs = step.attributes or {}
    name = _first(attrs, PATIENT_NAME)
    return UnmatchedStep(
        mpps_uid=step.mpps_uid,
        calling_ae=step.calling_ae,
        status=step.status,
        started_at=step.created_at,
        patient_key=str(_first(attrs, PATIENT_ID) or ""),
        patient_name=str(name.get("Alphabetic", "")) if isinstance(name, dict) else "",
        unmatched_reason=step.unmatched_reason or "",
        unmatched_message=step.unmatched_message,
        named=[_ref(item).label() for item in _items(attrs)],
        accessions=accessions,
    )


def _first(attrs: Mapping[str, Any], tag: str) -> Any:
    """The first value of one attribute of a DICOM JSON object (PS3.18 F.2), or None."""
    element = attrs.get(tag)
    values = element.get("Value") if isinstance(element, dict) else None
    return values[0] if isinstance(values, list) and values else None


def _items(attrs: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    element = attrs.get(SCHEDULED_STEPS)
    values = element.get("Value") if isinstance(element, dict) else None
    return [v for v in values or [] if isinstance(v, dict)]


def _ref(item: Mapping[str, Any]) -> ScheduledRef:
    return ScheduledRef(**{k: str(_first(item, tag) or "") for k, tag in ITEM_KEYS.items()})
