"""Radiology reports: preliminary, final, corrections and addenda that never overwrite.

Each report written is a new version row. A final report moves the procedure
``completed → reported``; a further final report on a reported procedure is a
correction: a new version with status ``corrected`` and the move ``reported →
reported``. An addendum (``add_addendum``) is the same move for a report already
signed, whose new version is the signed text with the addendum under it, dated and
signed: the receiver gets the whole corrected result (OBX-11 = C) and every earlier
version stays on record. A version may mark an acute finding (``acute``), which puts
it on the referring unit's list and flags the ORU abnormal. Each write appends its
event, which puts the ORU^R01 in the outbox in the same transaction
(services/core/outbox.py).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from lysbord.domain.calendar import COPENHAGEN
from lysbord.domain.errors import IllegalTransition, InvalidValue, Msg
from lysbord.domain.workflow import ProcedureState
from lysbord.services.core.context import Context
from lysbord.services.core.events import move, record
from lysbord.services.pathway.referrals import close_if_finished
from lysbord.services.pathway.views import SIGNED_STATUSES, SignedReport, signed_reports
from lysbord.store.models import Procedure, Referral
from lysbord.store.outbox_models import Report
from lysbord.store.queries import procedure_by_accession

MAX_TEXT = 100_000
ADDENDUM = "addendum"


@dataclass(frozen=True, slots=True)
class ReportView:
    id: int
    accession: str
    version: int
    status: str
    text: str
    author: str
    written_at: datetime
    written_by: str
    acute: bool = False


def write_report(
    ctx: Context,
    accession: str,
    *,
    text: str,
    author: str,
    final: bool,
    actor: str | None = None,
    acute: bool = False,
) -> ReportView:
    """Keep a new version of the report; a final one reports the procedure."""
    _check(text, author)

    def version(s: Session, procedure: Procedure, now: datetime) -> _Version:
        return _status(ProcedureState(procedure.state), final), text.strip("\r\n"), acute

    return _keep(ctx, accession, author.strip(), actor, version)


def add_addendum(
    ctx: Context,
    accession: str,
    *,
    text: str,
    author: str,
    actor: str | None = None,
    acute: bool = False,
) -> ReportView:
    """An addendum under the signed report: a new version, the signed text kept above it."""
    _check(text, author)

    def version(s: Session, procedure: Procedure, now: datetime) -> _Version:
        signed = _latest_signed(s, procedure.id)
        if signed is None or procedure.state != ProcedureState.REPORTED:
            raise IllegalTransition(
                Msg("an addendum needs a signed report"), field="state", value=procedure.state
            )
        when = now.astimezone(COPENHAGEN).strftime("%d.%m.%Y %H:%M")
        below = f"TILLÆG {when} ({author.strip()}):\n{text.strip()}"
        return ADDENDUM, f"{signed.text}\n\n{below}", acute or signed.acute

    return _keep(ctx, accession, author.strip(), actor, version)


#: A new version's status, text and acute mark, worked out on the locked procedure.
_Version = tuple[str, str, bool]


def _keep(
    ctx: Context,
    accession: str,
    author: str,
    actor: str | None,
    version: Callable[[Session, Procedure, datetime], _Version],
) -> ReportView:
    """Write one version and its event (and so its ORU) in one transaction."""
    now = ctx.now()
    with ctx.uow() as uow:
        s = uow.session
        procedure, referral = procedure_by_accession(s, accession, for_update=True)
        status, text, acute = version(s, procedure, now)
        report = Report(
            procedure_id=procedure.id,
            version=_next_version(s, procedure.id),
            status=status,
            text=text,
            author=author,
            written_at=now,
            written_by=actor or author,
            acute=acute,
        )
        s.add(report)
        s.flush()
        _record(s, procedure, referral, report, now)
        view = _view(report, accession)
        uow.commit()
    return view


def _latest_signed(s: Session, procedure_id: int) -> Report | None:
    return s.scalars(
        select(Report)
        .where(Report.procedure_id == procedure_id, Report.status.in_(SIGNED_STATUSES))
        .order_by(Report.version.desc())
        .limit(1)
    ).first()


def signed_of_accessions(ctx: Context, accessions: Sequence[str]) -> dict[str, SignedReport]:
    """The latest signed report of each of these procedures (a prior's, for the reader)."""
    with ctx.uow(readonly=True) as uow:
        s = uow.session
        rows = s.execute(
            select(Procedure.id, Procedure.accession).where(Procedure.accession.in_(accessions))
        ).tuples()
        ids = {pid: accession for pid, accession in rows if accession}
        return {ids[pid]: report for pid, report in signed_reports(s, list(ids)).items()}


def list_reports(ctx: Context, accession: str) -> list[ReportView]:
    """Every version of the procedure's report, oldest first."""
    with ctx.uow(readonly=True) as uow:
        s = uow.session
        procedure, _ = procedure_by_accession(s, accession)
        rows = s.scalars(
            select(Report).where(Report.procedure_id == procedure.id).order_by(Report.version)
        )
        return [_view(r, accession) for r in rows]


def _check(text: str, author: str) -> None:
    if not text.strip():
        raise InvalidValue(Msg("a report needs text"), field="text")
    if len(text) > MAX_TEXT:
        raise InvalidValue(
            Msg("longer than {max_text} characters", max_text=MAX_TEXT), field="text"
        )
    if not author.strip() or len(author.strip()) > 64:
        raise InvalidValue(Msg("1-64 characters, not only spaces"), field="author", value=author)


def _status(state: ProcedureState, final: bool) -> str:
    """preliminary or final on a completed procedure; corrected (final only) once reported."""
    if state is ProcedureState.COMPLETED:
        return "final" if final else "preliminary"
    if state is ProcedureState.REPORTED and final:
        return "corrected"
    if state is ProcedureState.REPORTED:
        reason = Msg("it is reported: a further report must be final (a correction)")
    else:
        reason = Msg("it is {state}: only a completed examination can be reported", state=state)
    raise IllegalTransition(
        Msg("cannot write a report: {reason}", reason=reason), field="state", value=str(state)
    )


def _next_version(s: Session, procedure_id: int) -> int:
    latest = s.scalar(select(func.max(Report.version)).where(Report.procedure_id == procedure_id))
    return (latest or 0) + 1


def _record(
    s: Session, procedure: Procedure, referral: Referral, report: Report, at: datetime
) -> None:
    kind = f"report.{report.status}"
    facts: dict[str, Any] = {"report_id": report.id, "version": report.version}
    if report.status == "preliminary":
        record(
            s,
            kind,
            actor=report.written_by,
            at=at,
            patient_id=referral.patient_id,
            referral_id=referral.id,
            procedure_id=procedure.id,
            **facts,
        )
        return
    actor = report.written_by
    move(s, procedure, referral, ProcedureState.REPORTED, actor=actor, at=at, kind=kind, **facts)
    close_if_finished(s, referral, actor=actor, at=at)


def _view(r: Report, accession: str) -> ReportView:
    return ReportView(
        r.id, accession, r.version, r.status, r.text, r.author, r.written_at, r.written_by, r.acute
    )
