"""The screens' page handlers through HTTP (TestClient), signed in per role, both backends.

Fast checks of what the browser tests show slowly: each role's pages render, a page the
role may not use is a 403, forms keep what was typed and show the error by the field,
and every write goes through the services as the signed-in user.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from httpx2 import Response

from lysbord.app import create_app
from lysbord.domain.access import Role
from lysbord.domain.priorities import Priority
from lysbord.domain.tracking import Queue
from lysbord.domain.workflow import ProcedureState
from lysbord.services.core.context import Context
from lysbord.services.pathway import booking, mpps, procedures, referral_queries, reports
from lysbord.services.pathway.booking import SlotSearch
from lysbord.services.pathway.mpps import ScheduledRef, StepReport
from lysbord.services.pathway.procedures import Action
from lysbord.web import i18n
from lysbord.web.pages.rooms import ACTIONS
from tests.helpers import new_patient, new_referral, random_cpr
from tests.integration.test_mpps_service import uid
from tests.web_fixtures import csrf_of, signed_in

R = Role


@pytest.fixture(name="web")
def web_fixture(ctx: Context) -> Iterator[TestClient]:
    with TestClient(create_app(ctx)) as client:
        yield client


def post(web: TestClient, path: str, **form: str) -> object:
    data = form | {"csrf_token": csrf_of(web, "/")}
    return web.post(path, data=data, follow_redirects=False)


def _first_offer(web: TestClient, acc: str) -> str:
    page = web.get(f"/booking/{acc}").text
    found = re.search(r'name="slot_id" value="(\d+)"', page)
    assert found, page
    return found.group(1)


@pytest.mark.parametrize(
    ("role", "paths"),
    [
        (R.booking_clerk, ["/patients", "/referrals", "/booking", "/tracker", "/tracker/list"]),
        (R.radiographer, ["/rooms", "/rooms/AAACT1", "/unmatched", "/patients"]),
        (R.radiologist, ["/reading", "/patients"]),
        (R.manager, ["/tracker", "/referrals", "/rooms/AAACT1/calendar", "/reading"]),
    ],
)
def test_each_role_sees_its_screens(
    web: TestClient, ctx: Context, role: Role, paths: list[str]
) -> None:
    new_referral(ctx)
    signed_in(web, ctx, role)
    for path in paths:
        response = web.get(path)
        assert response.status_code == 200, (path, response.text)
        assert 'lang="da"' in response.text


@pytest.mark.parametrize(
    ("role", "path"),
    [(R.radiographer, "/referrals"), (R.radiologist, "/booking"), (R.booking_clerk, "/reading")],
)
def test_a_role_without_the_right_gets_403(
    web: TestClient, ctx: Context, role: Role, path: str
) -> None:
    signed_in(web, ctx, role)
    assert web.get(path).status_code == 403


def test_manager_reads_but_may_not_book(web: TestClient, ctx: Context) -> None:
    acc = new_referral(ctx).procedures[0].accession
    signed_in(web, ctx, R.manager)
    assert web.get(f"/booking/{acc}").status_code == 200
    slot = str(booking.find_slots(ctx, SlotSearch(acc, limit=1))[0].slot_id)
    assert post(web, f"/booking/{acc}", slot_id=slot).status_code == 403  # type: ignore[attr-defined]
    assert procedures.get_procedure(ctx, acc).procedure.state == "requested"


def test_invalid_cpr_is_shown_beside_the_field_with_what_was_typed(
    web: TestClient, ctx: Context
) -> None:
    signed_in(web, ctx, R.booking_clerk)
    response = post(web, "/patients", cpr="311399-1234", family_name="Ærø", given_name="Åse")
    assert response.status_code == 422  # type: ignore[attr-defined]
    html = response.text  # type: ignore[attr-defined]
    assert 'id="e-cpr"' in html and "Ugyldigt CPR-nummer" in html
    assert 'value="311399-1234"' in html and 'value="Ærø"' in html and 'value="Åse"' in html


def test_register_then_find_by_number_and_name(web: TestClient, ctx: Context) -> None:
    signed_in(web, ctx, R.booking_clerk)
    cpr = random_cpr()
    response = post(web, "/patients", cpr=cpr, family_name="Blixen", given_name="Karen")
    assert response.headers["location"] == f"/patients/{cpr}"  # type: ignore[attr-defined]
    assert "Blixen, Karen" in web.get(f"/patients/{cpr}").text
    assert f"/patients/{cpr}" in web.get("/patients", params={"q": "blix"}).text
    assert web.get("/patients/0101999999").status_code == 404


def test_book_shows_on_the_day_list_then_cancel_and_rebook(web: TestClient, ctx: Context) -> None:
    ref = new_referral(ctx, priority=Priority.URGENT)
    acc = ref.procedures[0].accession
    clerk = signed_in(web, ctx, R.booking_clerk)
    slot = _first_offer(web, acc)
    assert post(web, f"/booking/{acc}", slot_id=slot).status_code == 303  # type: ignore[attr-defined]
    detail = procedures.get_procedure(ctx, acc)
    appointment = detail.procedure.appointment
    assert appointment is not None and appointment.booked_by == clerk
    refused = post(web, f"/booking/{acc}/cancel", appointment_id=str(appointment.id), reason=" ")
    assert refused.status_code == 422 and 'id="e-reason"' in refused.text  # type: ignore[attr-defined]
    ok = post(web, f"/booking/{acc}/cancel", appointment_id=str(appointment.id), reason="Syg")
    assert ok.status_code == 303  # type: ignore[attr-defined]
    assert procedures.get_procedure(ctx, acc).procedure.state == "requested"
    assert post(web, f"/booking/{acc}", slot_id=_first_offer(web, acc)).status_code == 303  # type: ignore[attr-defined]
    again = procedures.get_procedure(ctx, acc).procedure.appointment
    assert again is not None
    signed_in(web, ctx, R.radiographer)
    day = again.start_at.date().isoformat()
    assert acc in web.get(f"/rooms/{again.ae_title}", params={"day": day}).text


def test_a_taken_slot_is_refused_beside_the_choice(web: TestClient, ctx: Context) -> None:
    mine, other = new_referral(ctx), new_referral(ctx)
    acc = mine.procedures[0].accession
    signed_in(web, ctx, R.booking_clerk)
    slot = _first_offer(web, acc)
    booking.book(ctx, other.procedures[0].accession, int(slot), "someone.else")
    response = post(web, f"/booking/{acc}", slot_id=slot)
    assert response.status_code == 409  # type: ignore[attr-defined]
    assert 'id="e-slot_id"' in response.text and "allerede booket" in response.text  # type: ignore[attr-defined]
    assert procedures.get_procedure(ctx, acc).procedure.state == "requested"


def test_arrive_and_no_show_from_the_day_list(web: TestClient, ctx: Context) -> None:
    first, second = new_referral(ctx), new_referral(ctx)
    booked = []
    for ref in (first, second):
        acc = ref.procedures[0].accession
        offer = booking.find_slots(ctx, SlotSearch(acc, sites=["AAA"], limit=1))[0]
        booked.append(booking.book(ctx, acc, offer.slot_id, "clerk"))
    radiographer = signed_in(web, ctx, R.radiographer)
    day = booked[0].start_at.date().isoformat()
    a, b = (r.procedures[0].accession for r in (first, second))
    assert post(web, f"/rooms/AAACT1/{a}/arrive", day=day).status_code == 303  # type: ignore[attr-defined]
    assert post(web, f"/rooms/AAACT1/{b}/no-show", day=day).status_code == 303  # type: ignore[attr-defined]
    events = procedures.get_procedure(ctx, a).events
    assert events[-1].to_state == "arrived" and events[-1].actor == radiographer
    html = web.get("/rooms/AAACT1", params={"day": day}).text
    assert "Ankommet" in html and "Udeblevet" in html


def test_triage_form_changes_priority_and_deadline(web: TestClient, ctx: Context) -> None:
    ref = new_referral(ctx, priority=Priority.ROUTINE)
    signed_in(web, ctx, R.radiologist)
    assert f"/referrals/{ref.id}/triage" in web.get(f"/patients/{ref.cpr}").text
    refused = post(web, f"/referrals/{ref.id}/triage", priority="urgent", reason="")
    assert refused.status_code == 422 and 'id="e-reason"' in refused.text  # type: ignore[attr-defined]
    ok = post(web, f"/referrals/{ref.id}/triage", priority="urgent", reason="Tumor på CT")
    assert ok.status_code == 303  # type: ignore[attr-defined]
    signed_in(web, ctx, R.booking_clerk)
    assert "Haster" in web.get("/referrals").text


def test_report_save_then_sign(web: TestClient, ctx: Context) -> None:
    ref = new_referral(ctx)
    acc = ref.procedures[0].accession
    offer = booking.find_slots(ctx, SlotSearch(acc, limit=1))[0]
    booking.book(ctx, acc, offer.slot_id, "clerk")
    for action in (Action.ARRIVE, Action.START, Action.COMPLETE):
        procedures.act(ctx, acc, action, "radiograf")
    doctor = signed_in(web, ctx, R.radiologist)
    assert acc in web.get("/reading").text
    empty = post(web, f"/reading/{acc}", text="  ", save="1")
    assert empty.status_code == 422 and 'id="e-text"' in empty.text  # type: ignore[attr-defined]
    assert post(web, f"/reading/{acc}", text="Normal thorax.", save="1").status_code == 303  # type: ignore[attr-defined]
    assert "Normal thorax." in web.get(f"/reading/{acc}").text
    assert post(web, f"/reading/{acc}", text="Normal thorax.", sign="1").status_code == 303  # type: ignore[attr-defined]
    versions = reports.list_reports(ctx, acc)
    assert [v.status for v in versions] == ["preliminary", "final"]
    assert versions[-1].author == doctor
    assert procedures.get_procedure(ctx, acc).procedure.state == "reported"
    assert acc not in web.get("/reading").text


def test_tracker_counts_drill_down_to_patients(web: TestClient, ctx: Context) -> None:
    ref = new_referral(ctx, priority=Priority.ACUTE)
    signed_in(web, ctx, R.booking_clerk)
    board = web.get("/tracker").text
    assert "/tracker/list?queue=awaiting-booking" in board
    listing = web.get("/tracker/list", params={"queue": "awaiting-booking"}).text
    assert f"/patients/{ref.cpr}" in listing
    assert web.get("/tracker/list", params={"queue": "nowhere"}).status_code == 422


def test_every_state_queue_priority_and_flash_has_both_languages() -> None:
    """The keys the screens build from values (``t("state." ~ p.state)``, flash messages)."""
    built = {f"state.{s.value}" for s in ProcedureState}
    built |= {f"queue.{q.value}" for q in Queue} | {f"priority.{p.value}" for p in Priority}
    built |= {f"rooms.done_{a}" for a in ACTIONS} | {f"rooms.weekday_{d}" for d in range(7)}
    built |= {"sex.M", "sex.F", "queue.none"}
    assert sorted(built - set(i18n.catalog())) == []


def test_a_typed_in_referral_gets_its_deadline_and_goes_to_booking(
    web: TestClient, ctx: Context
) -> None:
    signed_in(web, ctx, R.booking_clerk)
    cpr = new_patient(ctx)
    assert f"/referrals/new?cpr={cpr}" in web.get(f"/patients/{cpr}").text
    assert f'value="{cpr}"' in web.get(f"/referrals/new?cpr={cpr}").text
    form: dict[str, object] = {
        "cpr": cpr,
        "referring_unit": "Egen læge",
        "clinical_question": "Knude i bryst?",
        "priority": "cancer-pathway",
        "procedures": ["UXCC00"],
    }
    token = csrf_of(web, "/referrals/new")

    def send(**changes: object) -> Response:
        data = form | changes | {"csrf_token": token}
        return web.post("/referrals/new", data=data, follow_redirects=False)

    bad = send(procedures=["NOPE99"])
    assert bad.status_code == 422 and 'value="Knude i bryst?"' in bad.text
    assert 'id="e-procedures"' in bad.text
    done = send()
    assert done.status_code == 303 and done.headers["location"].startswith("/booking/")
    page = web.get(done.headers["location"])
    assert page.status_code == 200 and "Henvisningen er modtaget" in page.text
    [ref] = referral_queries.list_referrals(ctx, referral_queries.ReferralFilter(cpr=cpr))[0]
    assert ref.priority == Priority.CANCER_PATHWAY and ref.referring_unit == "Egen læge"
    assert send(cpr="0101").status_code == 422


def test_unmatched_page_lists_mpps_steps_no_procedure_claims(web: TestClient, ctx: Context) -> None:
    attributes = {"00100010": {"vr": "PN", "Value": [{"Alphabetic": "Ærø^Søren"}]}}
    refs = (ScheduledRef(accession="NOSUCH5", step_id="S5"),)
    mpps.start_step(ctx, StepReport(uid(), "AAACT1", "IN PROGRESS", attributes, refs=refs))
    signed_in(web, ctx, R.radiographer)
    html = web.get("/unmatched").text
    steps = html[html.index('id="unmatched-steps"') :]
    assert "Udførte trin uden undersøgelse" in html and "AAACT1" in steps
    assert "Ærø, Søren" in steps and "NOSUCH5/S5/-" in steps
    assert "ingen undersøgelse for accession/trin/billedserie NOSUCH5/S5/-" in steps
    web.get("/lang?to=en")
    english = web.get("/unmatched").text
    assert "Performed steps without a procedure" in english
    assert "no procedure for accession/step/study NOSUCH5/S5/-" in english


def test_a_search_of_many_words_says_so_in_danish(web: TestClient, ctx: Context) -> None:
    signed_in(web, ctx, Role.booking_clerk)
    page = web.get("/patients", params={"q": " ".join(["navn"] * 2000)})
    assert page.status_code == 422 and "Søg med højst 8 ord." in page.text
