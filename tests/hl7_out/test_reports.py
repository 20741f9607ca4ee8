"""Reports: preliminary, final, corrected; every version kept; the ORU each one sends."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from lysbord.domain.errors import IllegalTransition, InvalidValue
from lysbord.hl7.messages_out import render
from lysbord.services.core.context import Context
from lysbord.services.core.outbox import MessageFacts
from lysbord.services.pathway import procedures, reports
from lysbord.services.pathway.procedures import Action
from lysbord.store.models import Procedure
from lysbord.store.outbox_models import OutboxMessage
from tests.helpers import new_referral
from tests.hl7_out.conftest import ehr, examine, routed
from tests.hl7_out.receiver import field
from tests.integration.api_fixtures import api_fixture, ok, problem

__all__ = ["api_fixture"]


def _oru_sent(ctx: Context) -> list[str]:
    """The ORU^R01 messages in the outbox, rendered as the worker would send them."""
    settings = ctx.settings.hl7_out
    with ctx.uow(readonly=True) as uow:
        rows = uow.session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.message_type == "ORU^R01")
            .order_by(OutboxMessage.id)
        ).all()
        dest = settings.destinations[0]
        return [render(r.id, MessageFacts.from_payload(r.payload), settings, dest) for r in rows]


def _obx(message: str) -> list[list[str]]:
    return [line.split("|") for line in message.split("\r") if line.startswith("OBX|")]


def test_preliminary_final_corrected_keep_every_version_and_send_p_f_c(ctx: Context) -> None:
    ctx = routed(ctx, ehr(1, "ORU"))
    accession = new_referral(ctx).procedures[0].accession
    examine(ctx, accession)

    prelim = reports.write_report(
        ctx, accession, text="Foreløbigt: ingen fortætning", author="Søren Å", final=False
    )
    assert (prelim.version, prelim.status) == (1, "preliminary")
    assert procedures.get_procedure(ctx, accession).procedure.state == "completed"
    final = reports.write_report(
        ctx,
        accession,
        text="Ingen fortætning.\nIngen pleuraeffusion.",
        author="Søren Å",
        final=True,
    )
    assert (final.version, final.status) == (2, "final")
    detail = procedures.get_procedure(ctx, accession)
    assert detail.procedure.state == "reported"
    assert detail.referral.closed_at is not None
    corrected = reports.write_report(
        ctx, accession, text="Tillæg: lille nodulus i ve. overlap.", author="Åse Ø", final=True
    )
    assert (corrected.version, corrected.status) == (3, "corrected")

    listed = reports.list_reports(ctx, accession)
    assert [(r.version, r.status) for r in listed] == [
        (1, "preliminary"),
        (2, "final"),
        (3, "corrected"),
    ]
    assert listed[1].text == "Ingen fortætning.\nIngen pleuraeffusion."  # never overwritten

    sent = _oru_sent(ctx)
    assert [field(m, "MSH", 9) for m in sent] == ["ORU^R01^ORU_R01"] * 3
    assert [{row[11] for row in _obx(m)} for m in sent] == [{"P"}, {"F"}, {"C"}]
    assert [field(m, "OBR", 25) for m in sent] == ["P", "F", "C"]
    assert [row[5] for row in _obx(sent[1])] == ["Ingen fortætning.", "Ingen pleuraeffusion."]
    assert field(sent[2], "OBR", 3) == f"{accession}^LYSBORD"
    assert field(sent[0], "MSH", 18) == "UNICODE UTF-8"


def test_report_refused_before_completion_and_prelim_after_final(ctx: Context) -> None:
    accession = new_referral(ctx).procedures[0].accession
    with pytest.raises(IllegalTransition) as early:
        reports.write_report(ctx, accession, text="x", author="Dr A", final=True)
    assert early.value.field == "state" and "completed" in early.value.reason
    examine(ctx, accession)
    with pytest.raises(InvalidValue) as empty:
        reports.write_report(ctx, accession, text="  \n", author="Dr A", final=True)
    assert empty.value.field == "text"
    reports.write_report(ctx, accession, text="Normal.", author="Dr A", final=True)
    with pytest.raises(IllegalTransition) as late:
        reports.write_report(ctx, accession, text="Hmm.", author="Dr A", final=False)
    assert "correction" in late.value.reason
    assert [r.version for r in reports.list_reports(ctx, accession)] == [1]


def test_no_destination_no_outbox_rows(ctx: Context) -> None:
    accession = new_referral(ctx).procedures[0].accession
    examine(ctx, accession)
    reports.write_report(ctx, accession, text="Normal.", author="Dr A", final=True)
    with ctx.uow(readonly=True) as uow:
        assert uow.session.scalars(select(OutboxMessage)).all() == []


def test_reports_over_the_api(ctx: Context, api: TestClient) -> None:
    accession = new_referral(ctx).procedures[0].accession
    url = f"/api/v1/procedures/{accession}/report"
    problem(api.post(url, json={"text": "x", "author": "Dr A", "final": True}), 409, "state")
    examine(ctx, accession)
    problem(api.post(url, json={"text": "", "author": "Dr A"}), 422, "text")
    first = ok(api.post(url, json={"text": "Foreløbig", "author": "Dr A"}), 201)
    assert first["status"] == "preliminary" and first["version"] == 1
    ok(api.post(url, json={"text": "Endelig", "author": "Dr A", "final": True}), 201)
    listed = ok(api.get(f"/api/v1/procedures/{accession}/reports"))
    assert [(r["version"], r["status"], r["text"]) for r in listed] == [
        (1, "preliminary", "Foreløbig"),
        (2, "final", "Endelig"),
    ]
    problem(api.get("/api/v1/procedures/LB99999999/reports"), 404, "accession")
    with ctx.uow(readonly=True) as uow:
        assert uow.session.scalars(select(Procedure.state)).all() == ["reported"]


def test_report_action_still_moves_without_text(ctx: Context) -> None:
    """The spine's bare 'report' action stays; it sends no ORU (there is no text)."""
    ctx = routed(ctx, ehr(1, "ORU"))
    accession = new_referral(ctx).procedures[0].accession
    examine(ctx, accession)
    procedures.act(ctx, accession, Action.REPORT, "tester")
    assert _oru_sent(ctx) == []
