"""Why a study or a performed step is unmatched: in Danish on the pages, in English in the API.

The services store each reason as a message (``Msg.as_json``) beside its English text;
rows from before that (text only) are still shown as they are.
"""

from __future__ import annotations

import html
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from lysbord.app import create_app
from lysbord.domain.access import Role
from lysbord.services.core.context import Context
from lysbord.services.pathway.mpps import ScheduledRef
from tests.helpers import new_patient, random_cpr
from tests.integration.test_mpps_service import started, uid
from tests.integration.test_reconcile import booked, send
from tests.web_fixtures import bearer, signed_in


@pytest.fixture(name="web")
def web_fixture(ctx: Context) -> Iterator[TestClient]:
    with TestClient(create_app(ctx)) as client:
        yield client


def page(web: TestClient, path: str) -> str:
    response = web.get(path)
    assert response.status_code == 200
    return html.unescape(response.text)


def api_reasons(web: TestClient, ctx: Context, path: str) -> set[str]:
    headers = bearer(ctx, Role.radiographer)
    items = web.get(path, headers=headers).json()["items"]
    return {item["unmatched_reason"] for item in items}


def test_every_kind_of_reason_in_danish_on_the_page_and_english_in_the_api(
    web: TestClient, ctx: Context
) -> None:
    stranger, cpr, other = random_cpr(), new_patient(ctx), new_patient(ctx)
    accession, _ = booked(ctx)
    send(ctx, patient_id=stranger, accession="XX998")
    send(ctx, patient_id="", accession="")
    send(ctx, patient_id=cpr, study_date="20300101")
    send(ctx, patient_id=other, accession=accession)
    started(ctx, uid(), ScheduledRef(accession="NOSUCH6"))
    signed_in(web, ctx, Role.radiographer)
    shown = page(web, "/unmatched")
    danish = [
        f"ukendt patient '{stranger}', og ingen undersøgelse har accession-nummeret 'XX998'",
        "intet PatientID og intet accession-nummer",
        "ingen booket undersøgelse for denne patient, modalitet og dato 20300101",
        f"accession-nummeret passer til undersøgelse {accession}, men de tilhører en anden"
        f" patient end PatientID '{other}'",
        "ingen undersøgelse for accession/trin/billedserie NOSUCH6/-/-",
    ]
    assert [d for d in danish if d not in shown] == []
    assert "booked procedure" not in shown and "no procedure for" not in shown
    assert api_reasons(web, ctx, "/api/v1/unmatched-studies") == {
        f"unknown patient '{stranger}' and no procedure has accession number 'XX998'",
        "no PatientID and no accession number",
        "no booked procedure for this patient, modality and date 20300101",
        f"accession number matches procedure {accession}, but it is another patient's"
        f" than PatientID '{other}'",
    }
    assert api_reasons(web, ctx, "/api/v1/mpps/unmatched") == {
        "no procedure for accession/step/study NOSUCH6/-/-"
    }
    web.get("/lang?to=en")
    assert "no PatientID and no accession number" in page(web, "/unmatched")


def test_the_patients_timeline_says_why_in_danish(web: TestClient, ctx: Context) -> None:
    cpr = new_patient(ctx)
    send(ctx, patient_id=cpr, study_date="20300102")
    signed_in(web, ctx, Role.radiographer)
    shown = page(web, f"/patients/{cpr}")
    assert "ingen booket undersøgelse for denne patient, modalitet og dato 20300102" in shown


def test_rows_from_before_the_messages_show_their_text(web: TestClient, ctx: Context) -> None:
    cpr = new_patient(ctx)
    study_uid, _ = send(ctx, patient_id=cpr, study_date="20300103")
    step_uid = uid()
    started(ctx, step_uid, ScheduledRef(accession="NOSUCH7"))
    with ctx.db.engine.begin() as conn:
        conn.execute(
            text(
                "UPDATE studies SET unmatched_reason = 'gammel grund', unmatched_message = NULL"
                " WHERE study_uid = :u"
            ),
            {"u": study_uid},
        )
        conn.execute(
            text(
                "UPDATE performed_steps SET unmatched_reason = 'gammelt trin',"
                " unmatched_message = NULL WHERE mpps_uid = :u"
            ),
            {"u": step_uid},
        )
        conn.execute(text("UPDATE events SET data = '{}' WHERE kind = 'study.unmatched'"))
    signed_in(web, ctx, Role.radiographer)
    shown = page(web, "/unmatched")
    assert "gammel grund" in shown and "gammelt trin" in shown
    timeline = page(web, f"/patients/{cpr}")
    assert "no booked procedure for this patient, modality and date 20300103" in timeline
