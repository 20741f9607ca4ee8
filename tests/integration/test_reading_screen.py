"""The reading screen (issue 23): the patient's earlier studies with their signed reports,
an acute mark, an addendum under a signed report (never before one), the signed report
on the patient's page, and the acute findings list; both backends, in Danish."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from httpx2 import Response

from lysbord.app import create_app
from lysbord.domain.access import Role
from lysbord.services.core.context import Context
from lysbord.services.pathway import booking, procedures, reports
from lysbord.services.pathway.booking import SlotSearch
from lysbord.services.pathway.procedures import Action
from tests.helpers import new_patient, new_referral
from tests.integration.test_reconcile import send
from tests.web_fixtures import csrf_of, signed_in


@pytest.fixture(name="web")
def web_fixture(ctx: Context) -> Iterator[TestClient]:
    with TestClient(create_app(ctx)) as client:
        yield client


def performed(ctx: Context, cpr: str, study_date: str, **referral: Any) -> str:
    """A CT thorax (or ``codes=...``) booked, examined and its images stored: ready to report."""
    accession = new_referral(ctx, cpr, **referral).procedures[0].accession
    offer = booking.find_slots(ctx, SlotSearch(accession, limit=1))[0]
    booking.book(ctx, accession, offer.slot_id, "clerk")
    for action in (Action.ARRIVE, Action.START, Action.COMPLETE):
        procedures.apply(ctx, accession, action, "radiograf")
    send(ctx, patient_id=cpr, accession=accession, study_date=study_date)
    return accession


def post(web: TestClient, path: str, **form: str) -> Response:
    return web.post(path, data=form | {"csrf_token": csrf_of(web, "/")}, follow_redirects=False)


def test_the_case_shows_earlier_studies_with_their_reports(web: TestClient, ctx: Context) -> None:
    cpr = new_patient(ctx)
    earlier = performed(ctx, cpr, "20250301")
    reports.write_report(ctx, earlier, text="Tidligere: normal thorax.", author="dr. Å", final=True)
    current = performed(ctx, cpr, "20261120")
    signed_in(web, ctx, Role.radiologist)
    page = web.get(f"/reading/{current}").text
    assert "Tidligere undersøgelser (1)" in page and "01.03.2025" in page
    assert "Tidligere: normal thorax." in page and "Underskrevet af dr. Å" in page


def test_signing_an_acute_finding_lists_it_and_shows_it_on_the_patients_page(
    web: TestClient, ctx: Context
) -> None:
    cpr = new_patient(ctx)
    accession = performed(ctx, cpr, "20261120")
    doctor = signed_in(web, ctx, Role.radiologist)
    done = post(web, f"/reading/{accession}", text="Lungeemboli.", sign="1", acute="1")
    assert done.status_code == 303
    assert reports.list_reports(ctx, accession)[-1].acute
    listed = web.get("/acute").text
    assert "Akutte fund" in listed and accession in listed and "Lungeemboli." in listed
    page = web.get(f"/patients/{cpr}").text
    assert f"Underskrevet af {doctor}" in page and "Akut fund" in page


def test_an_addendum_goes_under_the_signed_report(web: TestClient, ctx: Context) -> None:
    accession = performed(ctx, new_patient(ctx), "20261120")
    signed_in(web, ctx, Role.radiologist)
    assert post(web, f"/reading/{accession}", text="Normal thorax.", sign="1").status_code == 303
    page = web.get(f"/reading/{accession}").text
    assert "Tilføj tillæg" in page and "Underskriv (endelig)" not in page
    empty = post(web, f"/reading/{accession}/addendum", text=" ")
    assert empty.status_code == 422
    assert post(web, f"/reading/{accession}/addendum", text="Lille nodulus.").status_code == 303
    versions = reports.list_reports(ctx, accession)
    assert [v.status for v in versions] == ["final", "addendum"]
    assert versions[0].text == "Normal thorax." and "Lille nodulus." in versions[1].text
    assert "med tillæg" in web.get(f"/reading/{accession}").text


def test_an_addendum_to_an_unsigned_report_is_refused_in_danish(
    web: TestClient, ctx: Context
) -> None:
    accession = performed(ctx, new_patient(ctx), "20261120")
    signed_in(web, ctx, Role.radiologist)
    assert post(web, f"/reading/{accession}", text="Kladde.", save="1").status_code == 303
    refused = post(web, f"/reading/{accession}/addendum", text="Tillæg.")
    assert refused.status_code == 409
    assert "Et tillæg kræver en underskrevet beskrivelse." in refused.text
    assert [v.status for v in reports.list_reports(ctx, accession)] == ["preliminary"]


def test_the_acute_list_is_for_those_who_pass_it_on(web: TestClient, ctx: Context) -> None:
    signed_in(web, ctx, Role.radiographer)
    assert web.get("/acute").status_code == 403
    signed_in(web, ctx, Role.booking_clerk)
    assert web.get("/acute").status_code == 200
