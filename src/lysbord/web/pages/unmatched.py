"""The unmatched studies queue: images no procedure claimed, and a person's assignment.

A study waits here with the reason it matched nothing (``services.archive.reconcile``) until
someone says whose it is: a procedure (by accession number) or a patient only.
Below them, the scanners' performed steps (MPPS) that named a scheduled step no
procedure claims (``services.pathway.mpps_queue``), oldest first: shown so that a person
finds the exam, to be read only (the studies it produced are assigned above).
``services.archive.assignment.assign_study`` checks the choice and corrects the study's effective
patient and accession; the received values stay on record.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, Response

from lysbord.domain.access import CurrentUser
from lysbord.domain.errors import LysbordError
from lysbord.http.paging import Offset
from lysbord.services.archive import assignment, studies
from lysbord.services.pathway import mpps_queue
from lysbord.web.auth import CsrfForm, require
from lysbord.web.pages.shared import CtxDep, R, field_errors, redirect
from lysbord.web.templating import render

router = APIRouter()

Assigner = Annotated[CurrentUser, Depends(require(R.radiographer))]
PAGE_SIZE = 50


def _queue(
    request: Request,
    ctx: CtxDep,
    offset: Offset = 0,
    failed: str = "",
    typed: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    items, total = studies.list_unmatched(ctx, PAGE_SIZE, offset)
    steps, steps_total = mpps_queue.unmatched_steps(ctx, PAGE_SIZE)
    return render(
        request,
        "unmatched/list.html",
        status_code,
        items=items,
        total=total,
        offset=offset,
        page_size=PAGE_SIZE,
        failed=failed,
        typed=typed or {},
        errors=errors or {},
        steps=steps,
        steps_total=steps_total,
    )


@router.get("/unmatched", response_class=HTMLResponse)
def index(request: Request, ctx: CtxDep, user: Assigner, offset: Offset = 0) -> HTMLResponse:
    """Studies that matched no procedure, newest first, each with the reason; then the
    performed steps (MPPS) that named a scheduled step no procedure claims."""
    return _queue(request, ctx, offset)


@router.post("/unmatched/assign", response_class=HTMLResponse)
def assign(
    request: Request,
    ctx: CtxDep,
    user: Assigner,
    _csrf: CsrfForm,
    study_uid: Annotated[str, Form()],
    accession: Annotated[str, Form()] = "",
    cpr: Annotated[str, Form()] = "",
    reason: Annotated[str, Form()] = "",
) -> Response:
    """Assign one study to a procedure or a patient; a refusal is shown in its row."""
    cmd = assignment.Assignment(reason, accession.strip() or None, cpr.strip() or None)
    try:
        assignment.assign_study(ctx, study_uid, cmd, user.username)
    except LysbordError as exc:
        typed = {"accession": accession, "cpr": cpr, "reason": reason}
        errors = field_errors(request, exc, "accession")
        return _queue(request, ctx, 0, study_uid, typed, errors, status_code=422)
    return redirect("/unmatched", "unmatched.assigned")
