"""Studies in the archive and the unmatched queue, where no study is ever lost."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from lysbord.api.schemas import Page
from lysbord.http.context import ContextDep
from lysbord.http.deps import RadiographerActor
from lysbord.services.archive import assignment, studies
from lysbord.services.archive.studies import StudyView

router = APIRouter(tags=["studies"])

Limit = Annotated[int, Query(ge=1, le=500)]
Offset = Annotated[int, Query(ge=0)]


class StudyAssign(BaseModel):
    """Whose images these are: a procedure (by accession) or, with no order, a patient only."""

    accession: str | None = Field(
        None, max_length=16, description="Link to this procedure (and so its patient)"
    )
    cpr: str | None = Field(
        None, max_length=64, description="Assign to this patient only, with no procedure"
    )
    reason: str = Field(min_length=1, max_length=2000)
    reassign: bool = Field(
        False, description="Move a study that is already linked or assigned (else 409)"
    )


@router.get("/unmatched-studies")
def list_unmatched(ctx: ContextDep, limit: Limit = 50, offset: Offset = 0) -> Page[StudyView]:
    """Studies that matched no procedure, newest first, each with the reason."""
    items, total = studies.list_unmatched(ctx, limit, offset)
    return Page(items=items, total=total, limit=limit, offset=offset)


@router.post("/unmatched-studies/{study_uid}/assign")
def assign_study(
    study_uid: str, body: StudyAssign, ctx: ContextDep, actor: RadiographerActor
) -> StudyView:
    """Assign a study to a procedure or a patient; its effective patient and accession follow."""
    cmd = assignment.Assignment(body.reason, body.accession, body.cpr, body.reassign)
    return assignment.assign_study(ctx, study_uid, cmd, actor)


@router.get("/studies")
def list_studies(
    ctx: ContextDep,
    cpr: str | None = None,
    accession: str | None = None,
    modality: str | None = None,
    date_from: Annotated[date | None, Query(alias="from", description="Study date from")] = None,
    date_to: Annotated[date | None, Query(alias="to", description="Study date to")] = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> Page[StudyView]:
    """Studies by patient, accession, modality and study date, newest first."""
    flt = studies.StudyFilter(cpr, accession, modality, date_from, date_to, limit, offset)
    items, total = studies.list_studies(ctx, flt)
    return Page(items=items, total=total, limit=limit, offset=offset)


@router.get("/studies/{study_uid}")
def get_study(study_uid: str, ctx: ContextDep) -> StudyView:
    """One study: where it came from, what it holds, and where it stands."""
    return studies.get_study(ctx, study_uid)
