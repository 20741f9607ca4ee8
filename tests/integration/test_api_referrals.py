"""Referrals over HTTP: intake with deadlines, bad input refused whole, filtered pages."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from tests.conftest import T0
from tests.helpers import random_cpr
from tests.integration.api_fixtures import (  # noqa: F401
    accession,
    act,
    api_fixture,
    book,
    ok,
    problem,
    refer,
    referral_body,
    register,
    slots,
    tracker,
)

CPH = ZoneInfo("Europe/Copenhagen")


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def page(api, **params) -> dict:
    return ok(api.get("/api/v1/referrals", params=params))


def test_cancer_pathway_deadline_is_14_days_and_notify_by_8_working_days(api):
    # T0 is Monday 23 November 2026; 8 working days later is Thursday 3 December.
    referral = refer(api, register(api)["cpr"], "cancer-pathway")
    assert at(referral["received_at"]) == T0
    assert at(referral["due_at"]) == T0 + timedelta(days=14)
    notify = at(referral["notify_by"]).astimezone(CPH)
    assert notify.date() == date(2026, 12, 3) and notify.hour == 23
    assert referral["queue"] == "awaiting-booking" and referral["closed_at"] is None
    assert referral["procedures"][0]["state"] == "requested"


def test_received_at_with_an_offset_counts_from_the_local_day(api):
    # Friday 20 November 15:00 in Copenhagen: the 8th working day is Wednesday 2 December.
    received = "2026-11-20T15:00:00+01:00"
    referral = refer(api, register(api)["cpr"], "cancer-pathway", received_at=received)
    assert at(referral["received_at"]) == at(received)
    assert at(referral["due_at"]) == at(received) + timedelta(days=14)
    assert at(referral["notify_by"]).astimezone(CPH).date() == date(2026, 12, 2)


@pytest.mark.parametrize(
    ("priority", "extra", "due"),
    [
        ("acute", {}, timedelta(hours=4)),
        ("urgent", {}, timedelta(days=7)),
        ("routine", {}, timedelta(days=30)),
        ("cancer-pathway", {"protocol_days": 2}, timedelta(days=2)),
    ],
)
def test_deadline_follows_priority(api, priority, extra, due):
    referral = refer(api, register(api)["cpr"], priority, **extra)
    assert at(referral["due_at"]) - at(referral["received_at"]) == due
    assert (referral["notify_by"] is None) == (priority != "cancer-pathway")


def test_follow_up_is_due_around_the_requested_date(api):
    requested = date(2027, 3, 1)
    referral = refer(api, register(api)["cpr"], "follow-up", requested_date=requested.isoformat())
    assert at(referral["earliest_at"]).astimezone(CPH).date() == requested - timedelta(days=14)
    assert at(referral["due_at"]).astimezone(CPH).date() == requested + timedelta(days=14)


def test_several_procedures_get_their_own_accession_numbers(api):
    codes = ["UXCC00", "UXCD00", "UXUD00"]
    referral = refer(api, register(api)["cpr"], procedures=codes)
    procedures = referral["procedures"]
    assert [p["code"] for p in procedures] == codes
    assert (
        len({p["accession"] for p in procedures}) == len({p["study_uid"] for p in procedures}) == 3
    )
    assert ok(api.get(f"/api/v1/referrals/{referral['id']}")) == referral


@pytest.mark.parametrize(
    ("fields", "status", "field", "reason"),
    [
        ({"procedures": ["NOPE00"]}, 422, "procedures[0]", "not in the procedure catalogue"),
        ({"procedures": ["UXCC00", "NOPE00"]}, 422, "procedures[1]", "catalogue"),
        ({"priority": "follow-up"}, 422, "requested_date", "needs the requested date"),
        ({"received_at": "2026-11-23T09:00:00+01:00"}, 422, "received_at", "future"),
        ({"received_at": "2026-11-20T10:00:00"}, 422, "received_at", "timezone"),
        ({"received_at": "yesterday"}, 422, "received_at", "datetime"),
        ({"protocol_days": 2}, 422, "protocol_days", "only a cancer-pathway"),
        ({"protocol_days": 30, "priority": "cancer-pathway"}, 422, "protocol_days", "14"),
        ({"priority": "soon"}, 422, "priority", "cancer-pathway"),
        ({"procedures": "UXCC00"}, 422, "procedures", "list"),
        ({"procedures": []}, 422, "procedures", "at least 1"),
        ({"procedures": [42]}, 422, "procedures[0]", "string"),
        ({"referring_unit": ""}, 422, "referring_unit", "at least 1"),
        ({"clinical_question": "   "}, 422, "clinical_question", "empty"),
        ({"preferred_site": "ZZZ"}, 422, "preferred_site", "no such site"),
        ({"requested_date": "2027-02-30", "priority": "follow-up"}, 422, "requested_date", "date"),
    ],
)
def test_bad_referral_is_refused_whole(api, fields, status, field, reason):
    cpr = register(api)["cpr"]
    response = api.post("/api/v1/referrals", json=referral_body(cpr, **fields))
    found = problem(response, status, field)
    assert reason in found["reason"], found
    assert page(api, cpr=cpr)["total"] == 0
    assert tracker(api)["open_referrals"] == 0


def test_referral_for_an_unknown_patient_names_the_cpr(api):
    cpr = random_cpr()
    response = api.post("/api/v1/referrals", json=referral_body(cpr))
    assert problem(response, 422, "cpr")["value"] == cpr
    assert page(api)["total"] == 0


def test_missing_field_is_named(api):
    body = referral_body(register(api)["cpr"])
    del body["clinical_question"]
    found = problem(api.post("/api/v1/referrals", json=body), 422, "clinical_question")
    assert found["reason"] == "Field required" and found["errors"][0]["in"] == "body"


@pytest.fixture
def spread(api) -> dict[str, dict]:
    """Five referrals in different states, priorities, patients and sites."""
    anna, bo = (
        register(api, preferred_site="AAA")["cpr"],
        register(api, preferred_site="BBB")["cpr"],
    )
    made = {
        "anna_cancer": refer(api, anna, "cancer-pathway"),
        "anna_routine": refer(api, anna, "routine"),
        "bo_urgent": refer(api, bo, "urgent"),
        "bo_routine": refer(api, bo, "routine", preferred_site="AAA"),
        "bo_cancelled": refer(api, bo, "routine"),
    }
    acc = made["bo_urgent"]["procedures"][0]["accession"]
    offer = slots(api, acc, site="AAA", **{"from": (T0 + timedelta(days=1)).isoformat()})[0]
    book(api, acc, offer["slot_id"])
    ok(act(api, made["bo_cancelled"]["procedures"][0]["accession"], "cancel", "not needed"))
    return made | {"cpr": {"anna": anna, "bo": bo}}


def ids(found: dict) -> set[int]:
    return {r["id"] for r in found["items"]}


def test_filter_by_cpr_state_priority_and_site(api, spread):
    s = {k: v["id"] for k, v in spread.items() if k != "cpr"}
    assert ids(page(api, cpr=spread["cpr"]["anna"])) == {s["anna_cancer"], s["anna_routine"]}
    assert ids(page(api, state="closed")) == {s["bo_cancelled"]}
    assert ids(page(api, state="open")) == set(s.values()) - {s["bo_cancelled"]}
    assert ids(page(api, state="booked")) == {s["bo_urgent"]}
    assert len(ids(page(api, state="awaiting-booking"))) == 3
    assert ids(page(api, priority="cancer-pathway")) == {s["anna_cancer"]}
    at_aaa = {s["anna_cancer"], s["anna_routine"], s["bo_routine"], s["bo_urgent"]}
    assert ids(page(api, site="AAA")) == at_aaa
    bo_open = page(api, cpr=spread["cpr"]["bo"], state="open", priority="routine")
    assert ids(bo_open) == {s["bo_routine"]}
    assert ids(page(api, state="today")) == set()


def test_closed_referral_says_why(api, spread):
    closed = page(api, state="closed")["items"][0]
    assert closed["closed_at"] is not None and closed["queue"] is None
    assert "cancelled" in closed["close_reason"]


def test_pages_have_total_limit_offset_and_urgent_first(api, spread):
    everything = page(api, limit=500)
    assert everything["total"] == 5 and len(everything["items"]) == 5
    dues = [at(r["due_at"]) for r in everything["items"]]
    assert dues == sorted(dues)
    pages = [page(api, limit=2, offset=o) for o in (0, 2, 4)]
    assert [len(p["items"]) for p in pages] == [2, 2, 1]
    assert all(p["total"] == 5 and p["limit"] == 2 for p in pages)
    assert [r["id"] for p in pages for r in p["items"]] == [r["id"] for r in everything["items"]]
    assert page(api, offset=10) == {"items": [], "total": 5, "limit": 50, "offset": 10}
    queue_page = page(api, state="awaiting-booking", limit=1, offset=1)
    assert queue_page["total"] == 3 and len(queue_page["items"]) == 1


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"state": "lost"}, "state"),
        ({"priority": "whenever"}, "priority"),
        ({"site": "ZZZ"}, "site"),
        ({"limit": 0}, "limit"),
        ({"limit": 501}, "limit"),
        ({"offset": -1}, "offset"),
        ({"limit": "ten"}, "limit"),
        ({"cpr": "0101"}, "cpr"),
    ],
)
def test_bad_list_filters_name_the_parameter(api, params, field):
    found = problem(api.get("/api/v1/referrals", params=params), 422, field)
    assert found["reason"]


def test_unknown_referral_id_is_404(api):
    problem(api.get("/api/v1/referrals/987654"), 404, "referral_id")
    problem(api.get("/api/v1/referrals/abc"), 422, "referral_id")


def test_catalogue_and_sites(api):
    codes = ok(api.get("/api/v1/procedure-codes"))
    assert {"code": "UXCD00", "modality": "CT", "duration_minutes": 30}.items() <= codes[1].items()
    sites = ok(api.get("/api/v1/sites"))
    assert [s["code"] for s in sites] == ["AAA", "BBB"]
    assert sites[0]["contact"] == {"name": "Booking Alfa", "phone": "+45 00000001"}
    assert {r["modality"] for r in sites[1]["rooms"]} == {"CT", "US"}
    assert accession(api).startswith("LB")
