"""Booking over HTTP: region-wide slots, book, cancel, rebook, the day itself, and refusals.

After every refusal the procedure, its history and the tracker are checked unchanged:
a refused booking must leave nothing half-written.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from tests.conftest import T0
from tests.integration.api_fixtures import (  # noqa: F401
    accession,
    act,
    api_fixture,
    book,
    ok,
    problem,
    procedure,
    refer,
    register,
    slots,
    tracker,
)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def kinds(api, acc: str) -> list[str]:
    return [e["kind"] for e in procedure(api, acc)["events"]]


def try_book(api, acc: str, slot_id: object):
    return api.post("/api/v1/appointments", json={"accession": acc, "slot_id": slot_id})


def cancel(api, appointment_id: int, reason: str = "patient is abroad"):
    body = {"reason": reason}
    return api.post(f"/api/v1/appointments/{appointment_id}/cancel", json=body)


def test_book_cancel_rebook_arrive_as_a_person_would(api):
    patient = register(api, preferred_site="BBB")
    referral = refer(api, patient["cpr"], "cancer-pathway")
    acc = referral["procedures"][0]["accession"]
    offers = slots(api, acc, limit=5)
    assert offers[0]["site_code"] == "BBB" and offers[0]["within_deadline"]
    appointment = book(api, acc, offers[0]["slot_id"])
    assert (
        appointment["slot_id"] == offers[0]["slot_id"] and appointment["booked_by"] == "api.tester"
    )

    detail = procedure(api, acc)
    assert detail["procedure"]["state"] == "booked"
    assert detail["procedure"]["appointment"]["id"] == appointment["id"]
    booked = detail["events"][-1]
    assert (
        booked["kind"] == "procedure.booked" and booked["data"]["slot_id"] == offers[0]["slot_id"]
    )
    assert (booked["from_state"], booked["to_state"], booked["actor"]) == (
        "requested",
        "booked",
        "api.tester",
    )
    assert tracker(api)["by_site"] == {"BBB": {"today": 1}}

    cancelled = ok(cancel(api, appointment["id"]))
    assert cancelled == {"accession": acc, "state": "requested", "at": cancelled["at"]}
    event = procedure(api, acc)["events"][-1]
    assert (event["kind"], event["reason"], event["to_state"]) == (
        "appointment.cancelled",
        "patient is abroad",
        "requested",
    )
    assert tracker(api)["by_queue"] == {"awaiting-booking": 1}
    assert offers[0]["slot_id"] in {o["slot_id"] for o in slots(api, acc, limit=5)}

    again = book(api, acc, offers[1]["slot_id"])
    assert ok(act(api, acc, "arrive"))["procedure"]["state"] == "arrived"
    assert kinds(api, acc)[-3:] == [
        "appointment.cancelled",
        "procedure.booked",
        "procedure.arrived",
    ]
    assert procedure(api, acc)["procedure"]["appointment"]["id"] == again["id"]
    assert tracker(api)["by_queue"] == {"arrived": 1}


def test_booking_a_booked_procedure_rebooks_with_one_event(api):
    acc = accession(api)
    first, second = slots(api, acc, limit=2)
    book(api, acc, first["slot_id"])
    before = kinds(api, acc)
    moved = book(api, acc, second["slot_id"])
    events = procedure(api, acc)["events"]
    assert [e["kind"] for e in events] == [*before, "procedure.rebooked"]
    assert events[-1]["data"]["previous_slot_id"] == first["slot_id"]
    assert events[-1]["from_state"] == events[-1]["to_state"] == "booked"
    assert procedure(api, acc)["procedure"]["appointment"]["slot_id"] == moved["slot_id"]
    assert first["slot_id"] in {o["slot_id"] for o in slots(api, acc, limit=5)}


def test_slots_come_earliest_first_within_deadline_first_preferred_site_first(api):
    cpr = register(api, preferred_site="BBB")["cpr"]
    received = (T0 - timedelta(minutes=5)).isoformat()  # due 06:55Z, between two slots
    referral = refer(api, cpr, "cancer-pathway", protocol_days=2, received_at=received)
    acc = referral["procedures"][0]["accession"]
    offers = slots(api, acc, limit=200, to=(T0 + timedelta(days=4)).isoformat())
    # Monday to Thursday: 16 CT slots a day at AAA and 8 at BBB, every one offered once.
    assert len(offers) == 4 * (16 + 8) == len({o["slot_id"] for o in offers})
    # Within the deadline the preferred site comes first; after it, only time counts.
    rank = [
        (not o["within_deadline"], o["within_deadline"] and not o["preferred_site"]) for o in offers
    ]
    assert rank == sorted(rank) and set(rank) == {(False, False), (False, True), (True, False)}
    for group in set(rank):
        starts = [at(o["start_at"]) for o, r in zip(offers, rank, strict=True) if r == group]
        assert starts == sorted(starts), group
    due = at(referral["due_at"])
    assert all((at(o["start_at"]) <= due) == o["within_deadline"] for o in offers)
    assert all(o["modality"] == "CT" and o["minutes"] >= 15 for o in offers)


def test_slot_starting_exactly_at_the_deadline_ranks_as_within(api):
    # Received 07:00Z, a slot start: due_at falls exactly on a slot two days later.
    cpr = register(api, preferred_site="BBB")["cpr"]
    acc = refer(api, cpr, "cancer-pathway", protocol_days=2)["procedures"][0]["accession"]
    offers = slots(api, acc, limit=200, to=(T0 + timedelta(days=4)).isoformat())
    rank = [
        (not o["within_deadline"], o["within_deadline"] and not o["preferred_site"]) for o in offers
    ]
    assert rank == sorted(rank)
    due = at(procedure(api, acc)["referral"]["due_at"])
    edge = [o for o in offers if at(o["start_at"]) == due]
    assert edge and all(o["within_deadline"] for o in edge)


@pytest.mark.parametrize(
    ("code", "expected"),
    [("UXCD00", {("BBB", "CT")}), ("UXRC00", {("AAA", "DX")}), ("UXUD00", {("BBB", "US")})],
)
def test_slots_fit_modality_and_duration(api, code, expected):
    acc = accession(api, procedures=[code])
    offers = slots(api, acc, limit=50)
    assert {(o["site_code"], o["modality"]) for o in offers} == expected


def test_slot_search_by_site_and_window(api):
    acc = accession(api)
    start, end = T0 + timedelta(days=2), T0 + timedelta(days=3)
    window = {"from": start.isoformat(), "to": end.isoformat(), "limit": 200}
    offers = slots(api, acc, site="BBB", **window)
    assert offers and {o["site_code"] for o in offers} == {"BBB"}
    assert all(start <= at(o["start_at"]) < end for o in offers)
    both = api.get("/api/v1/slots", params=[("accession", acc), ("site", "AAA"), ("site", "BBB")])
    assert {o["site_code"] for o in ok(both)} == {"AAA", "BBB"}
    assert {o["site_code"] for o in slots(api, acc, site="AAA,BBB", limit=40)} == {"AAA", "BBB"}


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"limit": 0}, "limit"),
        ({"limit": 201}, "limit"),
        ({"from": "2026-11-24T08:00:00"}, "from"),
        ({"to": "soon"}, "to"),
        ({"site": "ZZZ"}, "site"),
        ({"accession": "LB99999999"}, "accession"),
    ],
)
def test_bad_slot_search_names_the_parameter(api, params, field):
    acc = accession(api)
    problem(api.get("/api/v1/slots", params={"accession": acc} | params), 422, field)


def test_slot_search_needs_an_accession(api):
    found = problem(api.get("/api/v1/slots"), 422, "accession")
    assert found["errors"][0]["in"] == "query"


def unchanged(api, acc: str, events: list[str], board: dict) -> None:
    """A refused booking wrote nothing: same state, same history, same tracker."""
    detail = procedure(api, acc)
    assert (
        detail["procedure"]["state"] == "requested" and detail["procedure"]["appointment"] is None
    )
    assert [e["kind"] for e in detail["events"]] == events
    assert tracker(api) == board


def test_taken_slot_is_a_conflict(api):
    mine, theirs = accession(api), accession(api)
    slot_id = slots(api, theirs)[0]["slot_id"]
    book(api, theirs, slot_id)
    events, board = kinds(api, mine), tracker(api)
    found = problem(try_book(api, mine, slot_id), 409, "slot_id")
    assert found["title"] == "Slot taken" and found["value"] == slot_id
    unchanged(api, mine, events, board)


def test_slot_too_short_or_of_the_wrong_modality_is_a_conflict(api):
    ct_15 = slots(api, accession(api), site="AAA")[0]["slot_id"]
    mr = slots(api, accession(api, procedures=["UXMA00"]))[0]["slot_id"]
    acc = accession(api, procedures=["UXCD00"])  # CT abdomen: 30 minutes
    events, board = kinds(api, acc), tracker(api)
    assert "procedure needs 30" in problem(try_book(api, acc, ct_15), 409, "slot_id")["reason"]
    assert "modality MR" in problem(try_book(api, acc, mr), 409, "slot_id")["reason"]
    unchanged(api, acc, events, board)


def test_slot_in_the_past_is_a_conflict(api, clock):
    acc = accession(api)
    slot = slots(api, acc)[0]
    clock.advance(hours=2)
    events, board = kinds(api, acc), tracker(api)
    assert "in the past" in problem(try_book(api, acc, slot["slot_id"]), 409, "slot_id")["reason"]
    unchanged(api, acc, events, board)
    assert all(at(o["start_at"]) >= clock() for o in slots(api, acc))


def test_slot_in_a_blocked_room_is_a_conflict(api):
    acc = accession(api)
    slot = slots(api, acc, site="AAA")[0]
    block = {
        "site": "AAA",
        "room": slot["room_code"],
        "start_at": slot["start_at"],
        "end_at": (at(slot["start_at"]) + timedelta(hours=1)).isoformat(),
        "reason": "CT tube replacement",
    }
    assert ok(api.post("/api/v1/blocks", json=block), 201)["id"] > 0
    events, board = kinds(api, acc), tracker(api)
    found = problem(try_book(api, acc, slot["slot_id"]), 409, "slot_id")
    assert "blocked: CT tube replacement" in found["reason"]
    unchanged(api, acc, events, board)
    assert slot["slot_id"] not in {o["slot_id"] for o in slots(api, acc, site="AAA")}


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"site": "ZZZ"}, "site"),
        ({"room": "XR9"}, "room"),
        ({"end_at": "2026-11-23T06:00:00+00:00"}, "end_at"),
        ({"start_at": "2026-11-23T08:00:00"}, "start_at"),
        ({"reason": ""}, "reason"),
    ],
)
def test_bad_block_names_the_field(api, change, field):
    block = {
        "site": "AAA",
        "room": "CT1",
        "start_at": "2026-11-23T07:00:00+00:00",
        "end_at": "2026-11-23T09:00:00+00:00",
        "reason": "service",
    }
    problem(api.post("/api/v1/blocks", json=block | change), 422, field)
    assert len(slots(api, accession(api), site="AAA", limit=8)) == 8


def test_unknown_slot_or_accession_in_the_body_is_422(api):
    acc = accession(api)
    problem(try_book(api, acc, 99999999), 422, "slot_id")
    problem(try_book(api, "LB99999999", slots(api, acc)[0]["slot_id"]), 422, "accession")
    problem(try_book(api, acc, "first"), 422, "slot_id")
    assert procedure(api, acc)["procedure"]["state"] == "requested"


def test_no_show_frees_the_slot_and_puts_it_back_in_the_booking_queue(api):
    acc = accession(api)
    slot_id = slots(api, acc)[0]["slot_id"]
    book(api, acc, slot_id)
    detail = ok(act(api, acc, "no-show"))
    assert detail["procedure"]["state"] == "no-show" and detail["procedure"]["appointment"] is None
    assert detail["referral"]["queue"] == "awaiting-booking"
    assert detail["events"][-1]["kind"] == "procedure.no-show"
    assert slot_id in {o["slot_id"] for o in slots(api, accession(api))}
    assert book(api, acc, slot_id)["slot_id"] == slot_id


def test_the_whole_day_to_a_report_closes_the_referral(api):
    acc = accession(api)
    book(api, acc, slots(api, acc)[0]["slot_id"])
    for action, state in [
        ("arrive", "arrived"),
        ("start", "in-progress"),
        ("complete", "completed"),
        ("report", "reported"),
    ]:
        assert ok(act(api, acc, action))["procedure"]["state"] == state
    referral = procedure(api, acc)["referral"]
    assert (
        referral["closed_at"] is not None and referral["close_reason"] == "all procedures reported"
    )
    assert tracker(api)["open_referrals"] == 0


def test_hold_and_release_need_the_right_state_and_a_reason(api):
    acc = accession(api)
    problem(act(api, acc, "hold"), 422, "reason")
    assert ok(act(api, acc, "hold", "awaiting blood tests"))["procedure"]["state"] == "on-hold"
    assert tracker(api)["by_queue"] == {"on-hold": 1}
    assert ok(act(api, acc, "release"))["procedure"]["state"] == "requested"
    assert "can be released" in problem(act(api, acc, "release"), 409, "state")["reason"]


@pytest.mark.parametrize("action", ["arrive", "no-show", "start", "complete", "report"])
def test_wrong_state_is_a_conflict_and_writes_nothing(api, action):
    acc = accession(api)
    events, board = kinds(api, acc), tracker(api)
    found = problem(act(api, acc, action), 409, "state")
    assert "cannot go from requested" in found["reason"]
    unchanged(api, acc, events, board)


def test_cancelled_procedure_cannot_be_booked_or_cancelled_again(api):
    acc = accession(api)
    problem(act(api, acc, "cancel"), 422, "reason")
    ok(act(api, acc, "cancel", "duplicate referral"))
    slot_id = slots(api, accession(api))[0]["slot_id"]
    assert "cancelled is final" in problem(try_book(api, acc, slot_id), 409, "state")["reason"]
    problem(act(api, acc, "cancel", "again"), 409, "state")
    assert kinds(api, acc)[-1] == "procedure.cancelled"


def test_cancel_appointment_refusals(api):
    acc = accession(api)
    appointment = book(api, acc, slots(api, acc)[0]["slot_id"])
    problem(cancel(api, appointment["id"], reason=" "), 422, "reason")
    problem(cancel(api, 99999999), 404, "appointment_id")
    ok(act(api, acc, "arrive"))
    problem(cancel(api, appointment["id"]), 409, "state")
    assert procedure(api, acc)["procedure"]["state"] == "arrived"
    ok(act(api, acc, "start"))
    problem(cancel(api, appointment["id"]), 409, "state")


def test_unknown_accession_or_action_in_the_path(api):
    problem(api.get("/api/v1/procedures/LB99999999"), 404, "accession")
    problem(act(api, "LB99999999", "arrive"), 404, "accession")
    found = problem(act(api, accession(api), "teleport"), 422, "action")
    assert found["errors"][0]["in"] == "path" and "arrive" in found["reason"]
