"""Patients over HTTP: registration with CPR or replacement numbers, lookup, merge and undo."""

from __future__ import annotations

import random
import string

import pytest

from tests.helpers import random_cpr
from tests.integration.api_fixtures import (  # noqa: F401
    api_fixture,
    ok,
    problem,
    refer,
    register,
)

MERGE_REASON = "same person registered twice (ADT A40)"


def merge(api, source: str, target: str, reason: str = MERGE_REASON):
    body = {"target_cpr": target, "reason": reason}
    return api.post(f"/api/v1/patients/{source}/merge", json=body)


def referral_ids(api, cpr: str) -> set[int]:
    page = ok(api.get("/api/v1/referrals", params={"cpr": cpr}))
    assert page["total"] == len(page["items"])
    return {r["id"] for r in page["items"]}


def x_ecpr() -> str:
    """A national replacement number: DDMMYY, century 1, two letters, a sex digit."""
    letters = "".join(random.choices(string.ascii_uppercase, k=2))
    born = f"{random.randint(1, 28):02d}{random.randint(1, 12):02d}{random.randint(80, 99)}"
    return f"{born}1{letters}{random.randint(0, 9)}"


def test_register_and_find_by_number_with_or_without_dash(api):
    cpr = random_cpr(female=True)
    created = register(api, cpr, family_name="Nørgaard", preferred_site="BBB")
    assert created["cpr"] == cpr and created["sex"] == "F"
    assert created["birth_date"][8:10] == cpr[0:2] and created["preferred_site"] == "BBB"
    found = ok(api.get(f"/api/v1/patients/{cpr[:6]}-{cpr[6:]}"))
    assert found["id"] == created["id"] and found["family_name"] == "Nørgaard"


def test_replacement_number_with_letters_is_accepted(api):
    number = x_ecpr()
    created = register(api, number.lower())
    assert created["identifiers"] == [{"kind": "x-ecpr", "value": number, "issuer": "CPR"}]
    assert ok(api.get(f"/api/v1/patients/{number}"))["id"] == created["id"]


@pytest.mark.parametrize(
    ("cpr", "reason"),
    [
        ("3102651234", "31 February does not exist"),
        ("2902011234", "29 February 1901 does not exist"),
        ("0113651234", "month 13 does not exist"),
        ("010165123", "not 10 characters"),
        ("01016512345", "not 10 characters"),
        ("01O1651234", "must be digits"),
        ("0101651X34", "characters 7-9"),
        ("010165123X", "sex digit"),
    ],
)
def test_invalid_cpr_is_refused_and_nothing_is_written(api, cpr, reason):
    body = {"cpr": cpr, "family_name": "Jensen"}
    found = problem(api.post("/api/v1/patients", json=body), 422, "cpr")
    assert reason in found["reason"] and found["value"] == cpr
    assert ok(api.get("/api/v1/referrals"))["total"] == 0
    problem(api.get(f"/api/v1/patients/{cpr}"), 404, "cpr")


def test_duplicate_cpr_is_a_conflict_and_keeps_the_first(api):
    cpr = random_cpr()
    first = register(api, cpr, family_name="Først")
    body = {"cpr": f"{cpr[:6]}-{cpr[6:]}", "family_name": "Anden"}
    found = problem(api.post("/api/v1/patients", json=body), 409, "cpr")
    assert "already registered" in found["reason"]
    again = ok(api.get(f"/api/v1/patients/{cpr}"))
    assert again["id"] == first["id"] and again["family_name"] == "Først"


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"preferred_site": "ZZZ"}, "preferred_site"),
        ({"family_name": ""}, "family_name"),
        ({"family_name": "   "}, "family_name"),
        ({"family_name": None}, "family_name"),
        ({"given_name": 7}, "given_name"),
    ],
)
def test_invalid_patient_fields_name_the_field(api, fields, field):
    cpr = random_cpr()
    body = {"cpr": cpr, "family_name": "Jensen"} | fields
    problem(api.post("/api/v1/patients", json=body), 422, field)
    problem(api.get(f"/api/v1/patients/{cpr}"), 404, "cpr")


def test_merge_moves_referrals_to_the_survivor_and_old_number_still_finds_them(api):
    old, new = register(api)["cpr"], register(api)["cpr"]
    moved = refer(api, old, "cancer-pathway")
    kept = refer(api, new)
    survivor = ok(merge(api, old, new))
    assert survivor["cpr"] == new and len(survivor["merges"]) == 1
    assert survivor["merges"][0]["reason"] == MERGE_REASON
    assert referral_ids(api, new) == referral_ids(api, old) == {moved["id"], kept["id"]}
    assert ok(api.get(f"/api/v1/patients/{old}"))["id"] == survivor["id"]
    acc = moved["procedures"][0]["accession"]
    assert ok(api.get(f"/api/v1/procedures/{acc}"))["referral"]["cpr"] == new


def test_undo_merge_gives_back_exactly_what_it_moved(api):
    old, new = register(api)["cpr"], register(api)["cpr"]
    moved, kept = refer(api, old), refer(api, new)
    merge_id = ok(merge(api, old, new))["merges"][0]["id"]
    after = refer(api, old)  # arrives after the merge: belongs to the survivor
    body = {"reason": "two different people"}
    restored = ok(api.post(f"/api/v1/patients/merges/{merge_id}/undo", json=body))
    assert restored["cpr"] == old and restored["merged_into_id"] is None
    assert restored["merges"][0]["undone_at"] is not None
    assert referral_ids(api, old) == {moved["id"]}
    assert referral_ids(api, new) == {kept["id"], after["id"]}
    again = api.post(f"/api/v1/patients/merges/{merge_id}/undo", json=body)
    assert "already undone" in problem(again, 409, "merge_id")["reason"]


def test_merge_into_itself_is_refused_and_writes_nothing(api):
    cpr = register(api)["cpr"]
    found = problem(merge(api, cpr, f"{cpr[:6]}-{cpr[6:]}"), 409, "target_cpr")
    assert "itself" in found["reason"]
    assert ok(api.get(f"/api/v1/patients/{cpr}"))["merges"] == []


def test_merge_of_an_already_merged_record_is_refused(api):
    old, first, second = (register(api)["cpr"] for _ in range(3))
    refer(api, old)
    ok(merge(api, old, first))
    found = problem(merge(api, old, second), 409, "cpr")
    assert "already merged" in found["reason"]
    assert referral_ids(api, second) == set()
    assert ok(api.get(f"/api/v1/patients/{second}"))["merges"] == []


def test_undo_is_refused_while_the_survivor_is_merged_onwards(api):
    a, b, c = (register(api)["cpr"] for _ in range(3))
    first = ok(merge(api, a, b))["merges"][0]["id"]
    ok(merge(api, b, c))
    body = {"reason": "wrong person"}
    response = api.post(f"/api/v1/patients/merges/{first}/undo", json=body)
    assert "undo that merge first" in problem(response, 409, "merge_id")["reason"]
    assert ok(api.get(f"/api/v1/patients/{a}"))["cpr"] == c


@pytest.mark.parametrize(
    ("source", "target", "status", "field"),
    [("unknown", "known", 404, "cpr"), ("known", "unknown", 422, "target_cpr")],
)
def test_merge_with_an_unknown_patient(api, source, target, status, field):
    numbers = {"known": register(api)["cpr"], "unknown": random_cpr()}
    problem(merge(api, numbers[source], numbers[target]), status, field)
    assert ok(api.get(f"/api/v1/patients/{numbers['known']}"))["merges"] == []


def test_merge_and_undo_need_a_reason(api):
    old, new = register(api)["cpr"], register(api)["cpr"]
    problem(merge(api, old, new, reason=""), 422, "reason")
    problem(merge(api, old, new, reason="  "), 422, "reason")
    merge_id = ok(merge(api, old, new))["merges"][0]["id"]
    undo = api.post(f"/api/v1/patients/merges/{merge_id}/undo", json={})
    problem(undo, 422, "reason")
    unknown = api.post("/api/v1/patients/merges/999999/undo", json={"reason": "x"})
    problem(unknown, 404, "merge_id")


def test_a_new_number_for_the_same_person_finds_the_one_record(api):
    """DOMAIN.md §2: a person who gets a new number is not a new patient."""
    old, new = random_cpr(), random_cpr()
    patient = register(api, old)
    body = {"number": f"{new[:6]}-{new[6:]}", "reason": "Nyt CPR-nummer"}
    added = ok(api.post(f"/api/v1/patients/{old}/identifiers", json=body), 201)
    assert [i["value"] for i in added["identifiers"]] == [old, new]
    for number in (old, new):
        assert ok(api.get(f"/api/v1/patients/{number}"))["id"] == patient["id"]
    other = register(api)
    taken = {"number": other["cpr"], "reason": "forkert"}
    problem(api.post(f"/api/v1/patients/{old}/identifiers", json=taken), 409, "number")
    bad = {"number": "3213651234", "reason": "tastefejl"}
    problem(api.post(f"/api/v1/patients/{old}/identifiers", json=bad), 422, "number")
    assert len(ok(api.get(f"/api/v1/patients/{old}"))["identifiers"]) == 2
