"""The room's day list runs the examination by hand, in Danish, both backends (issue 23):
arrive, start, complete with the images to expect, discontinue and repeat with a reason;
what cannot be done says why in Danish; what the scanner sent shows series by series."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

import pytest
from fastapi.testclient import TestClient
from httpx2 import Response

from lysbord.app import create_app
from lysbord.domain.access import Role
from lysbord.services.core.context import Context
from lysbord.services.pathway import booking, procedures
from lysbord.services.pathway.booking import SlotSearch
from lysbord.services.pathway.procedures import Action
from tests.helpers import new_referral
from tests.integration.api_fixtures import api_as_fixture, api_fixture, ok, problem  # noqa: F401
from tests.integration.test_reconcile import send
from tests.web_fixtures import csrf_of, signed_in

ROOM = "/rooms/AAACT1"


@pytest.fixture(name="web")
def web_fixture(ctx: Context) -> Iterator[TestClient]:
    with TestClient(create_app(ctx)) as client:
        signed_in(client, ctx, Role.radiographer)
        yield client


def booked(ctx: Context) -> tuple[str, str, datetime]:
    """A CT booked into Alfa's CT 1: its accession, the patient's CPR, its start."""
    referral = new_referral(ctx)
    accession = referral.procedures[0].accession
    offer = booking.find_slots(ctx, SlotSearch(accession, sites=["AAA"], limit=1))[0]
    return accession, referral.cpr, booking.book(ctx, accession, offer.slot_id, "clerk").start_at


def act(web: TestClient, accession: str, action: str, day: str, **form: str) -> Response:
    data = form | {"csrf_token": csrf_of(web, "/"), "day": day}
    return web.post(f"{ROOM}/{accession}/{action}", data=data, follow_redirects=False)


def test_the_examination_from_arrival_to_completion(web: TestClient, ctx: Context) -> None:
    accession, cpr, at = booked(ctx)
    day = at.date().isoformat()
    for action in ("arrive", "start"):
        assert act(web, accession, action, day).status_code == 303
    page = web.get(ROOM, params={"day": day}).text
    assert "Afslut" in page and "Forventede billeder" in page and "Teknisk gentagelse" in page
    assert act(web, accession, "repeat", day, reason="bevægelse").status_code == 303
    send(ctx, patient_id=cpr, accession=accession, count=3)
    assert act(web, accession, "complete", day, images="5").status_code == 303
    page = web.get(ROOM, params={"day": day}).text
    assert "3 af 5" in page and "Serie" in page and "Gentaget 1 gang(e)" in page
    assert procedures.get_procedure(ctx, accession).procedure.state == "completed"


def test_completed_with_images_to_follow(web: TestClient, ctx: Context) -> None:
    accession, _, at = booked(ctx)
    procedures.apply(ctx, accession, Action.ARRIVE, "porter")
    procedures.apply(ctx, accession, Action.START, "porter")
    day = at.date().isoformat()
    assert act(web, accession, "complete", day, images="").status_code == 303
    assert "følger" in web.get(ROOM, params={"day": day}).text


def test_completing_what_never_started_says_why_in_danish(web: TestClient, ctx: Context) -> None:
    accession, _, at = booked(ctx)
    refused = act(web, accession, "complete", at.date().isoformat(), images="2")
    assert refused.status_code == 409
    assert "Undersøgelsen er «Booket» og kan ikke blive «Udført»." in refused.text
    assert "Herfra kan den blive: Afventer booking, Booket, Ankommet" in refused.text
    assert "cannot go" not in refused.text


@pytest.mark.parametrize(
    ("action", "form", "said"),
    [
        ("discontinue", {"reason": " "}, "Skriv en begrundelse."),
        ("repeat", {"reason": ""}, "Skriv en begrundelse."),
        ("complete", {"images": "tre"}, "Antal billeder skal være et helt tal"),
        ("complete", {"images": "0"}, "Antal billeder skal være et helt tal"),
    ],
)
def test_bad_input_is_refused_in_danish_and_changes_nothing(
    web: TestClient, ctx: Context, action: str, form: dict[str, str], said: str
) -> None:
    accession, _, at = booked(ctx)
    procedures.apply(ctx, accession, Action.ARRIVE, "porter")
    procedures.apply(ctx, accession, Action.START, "porter")
    refused = act(web, accession, action, at.date().isoformat(), **form)
    assert refused.status_code == 422 and said in refused.text
    assert procedures.get_procedure(ctx, accession).procedure.state == "in-progress"


def test_a_repeat_before_the_start_says_why_in_danish(web: TestClient, ctx: Context) -> None:
    accession, _, at = booked(ctx)
    refused = act(web, accession, "repeat", at.date().isoformat(), reason="bevægelse")
    assert refused.status_code == 409 and "mens undersøgelsen er i gang" in refused.text


def test_discontinued_with_its_reason(web: TestClient, ctx: Context) -> None:
    accession, _, at = booked(ctx)
    procedures.apply(ctx, accession, Action.ARRIVE, "porter")
    procedures.apply(ctx, accession, Action.START, "porter")
    done = act(web, accession, "discontinue", at.date().isoformat(), reason="klaustrofobi")
    assert done.status_code == 303
    detail = procedures.get_procedure(ctx, accession)
    assert detail.procedure.state == "discontinued"
    assert detail.events[-1].reason == "klaustrofobi"


def test_the_api_completes_with_the_images_to_expect_and_records_repeats(
    ctx: Context, api_as
) -> None:
    accession, _, _ = booked(ctx)
    api = api_as(Role.radiographer)
    for action in ("arrive", "start"):
        ok(api.post(f"/api/v1/procedures/{accession}/{action}"))
    ok(api.post(f"/api/v1/procedures/{accession}/repeat", json={"reason": "bevægelse"}))
    problem(api.post(f"/api/v1/procedures/{accession}/repeat", json={"reason": ""}), 422, "reason")
    bad = api.post(f"/api/v1/procedures/{accession}/complete", json={"images_expected": 0})
    problem(bad, 422, "images_expected")
    done = ok(api.post(f"/api/v1/procedures/{accession}/complete", json={"images_expected": 40}))
    assert done["procedure"]["state"] == "completed"
    assert [e["kind"] for e in done["events"]].count("procedure.repeated") == 1
    problem(api.post(f"/api/v1/procedures/{accession}/repeat", json={"reason": "x"}), 409, "state")
    clerk = api_as(Role.booking_clerk)
    assert clerk.post(f"/api/v1/procedures/{accession}/complete").status_code == 403
