"""Reports on a procedure: every version kept; a final one reports the procedure."""

from __future__ import annotations

from fastapi import APIRouter, Response, status
from pydantic import BaseModel, Field

from lysbord.http.context import ContextDep
from lysbord.http.deps import RadiologistActor
from lysbord.services.pathway import procedures, reports
from lysbord.services.pathway.procedures import Action
from lysbord.services.pathway.reports import MAX_TEXT, ReportView
from lysbord.services.pathway.views import ProcedureDetail

router = APIRouter(prefix="/procedures", tags=["reports"])


class ReportCreate(BaseModel):
    text: str = Field(min_length=1, max_length=MAX_TEXT, examples=["Ingen tegn på malignitet."])
    author: str = Field(min_length=1, max_length=64, description="The radiologist who signs")
    final: bool = Field(
        False, description="Final (reports the procedure; on a reported one: a correction)"
    )
    acute: bool = Field(False, description="An acute finding: the ORU's OBX-8 says AA")


class AddendumCreate(BaseModel):
    text: str = Field(min_length=1, max_length=MAX_TEXT)
    author: str = Field(min_length=1, max_length=64, description="The radiologist who signs")
    acute: bool = Field(False, description="Mark (or keep) an acute finding")


@router.post(
    "/{accession}/report",
    status_code=status.HTTP_201_CREATED,
    responses={200: {"model": ProcedureDetail, "description": "No body: the bare state change"}},
)
def write_report(
    accession: str,
    ctx: ContextDep,
    actor: RadiologistActor,
    response: Response,
    body: ReportCreate | None = None,
) -> ReportView | ProcedureDetail:
    """Write a preliminary or final report, or correct a reported procedure's report (201).

    Without a body it only moves a completed procedure to reported (200), as the
    ``/{action}`` route did before reports existed; that sends no ORU, as there is no text.
    """
    if body is None:
        response.status_code = status.HTTP_200_OK
        return procedures.act(ctx, accession, Action.REPORT, actor)
    return reports.write_report(
        ctx,
        accession,
        text=body.text,
        author=body.author,
        final=body.final,
        actor=actor,
        acute=body.acute,
    )


@router.post("/{accession}/addendum", status_code=status.HTTP_201_CREATED)
def add_addendum(
    accession: str, body: AddendumCreate, ctx: ContextDep, actor: RadiologistActor
) -> ReportView:
    """An addendum under the signed report (409 if none is signed): a new version, sent as
    a corrected result, the signed text kept above it."""
    return reports.add_addendum(
        ctx, accession, text=body.text, author=body.author, actor=actor, acute=body.acute
    )


@router.get("/{accession}/reports")
def list_reports(accession: str, ctx: ContextDep) -> list[ReportView]:
    """Every version of the procedure's report, oldest first."""
    return reports.list_reports(ctx, accession)
