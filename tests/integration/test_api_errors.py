"""The API's contract: who writes, malformed requests, problem details, OpenAPI, datetimes.

No user or an unknown bearer token is 401 naming ``Authorization``, a role that may not
write 403 (see api/deps.py); a body that is not JSON is 400 naming ``body``; every
error is application/problem+json.
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from lysbord.app import create_app
from lysbord.domain.access import Role
from lysbord.services.core.context import Context
from lysbord.store.models import Event
from tests.helpers import random_cpr
from tests.integration.api_fixtures import (  # noqa: F401
    PROBLEM,
    act,
    anon_fixture,
    api_as_fixture,
    api_fixture,
    assert_offsets,
    book,
    ok,
    problem,
    procedure,
    refer,
    register,
    slots,
    tracker,
)
from tests.web_fixtures import signed_in


def event_count(ctx: Context) -> int:
    with ctx.uow(readonly=True) as uow:
        return int(uow.session.scalar(select(func.count()).select_from(Event)) or 0)


@pytest.fixture
def world(api) -> dict[str, Any]:
    """One of each thing a write can name: patients, a booked procedure, a merge."""
    cpr, other, merged = (register(api)["cpr"] for _ in range(3))
    acc = refer(api, cpr)["procedures"][0]["accession"]
    appointment = book(api, acc, slots(api, acc)[0]["slot_id"])
    body = {"target_cpr": other, "reason": "duplicate"}
    merge = ok(api.post(f"/api/v1/patients/{merged}/merge", json=body))
    return {
        "cpr": cpr,
        "other": other,
        "acc": acc,
        "appointment": appointment["id"],
        "slot": slots(api, acc)[0]["slot_id"],
        "merge": merge["merges"][0]["id"],
    }


WRITES = {
    "register": lambda w: ("/api/v1/patients", {"cpr": random_cpr(), "family_name": "Lund"}),
    "refer": lambda w: (
        "/api/v1/referrals",
        {
            "cpr": w["cpr"],
            "referring_unit": "Akut",
            "clinical_question": "Fraktur?",
            "priority": "urgent",
            "procedures": ["UXRC00"],
        },
    ),
    "book": lambda w: ("/api/v1/appointments", {"accession": w["acc"], "slot_id": w["slot"]}),
    "cancel": lambda w: (f"/api/v1/appointments/{w['appointment']}/cancel", {"reason": "ill"}),
    "arrive": lambda w: (f"/api/v1/procedures/{w['acc']}/arrive", None),
    "merge": lambda w: (
        f"/api/v1/patients/{w['cpr']}/merge",
        {"target_cpr": w["other"], "reason": "same"},
    ),
    "undo": lambda w: (f"/api/v1/patients/merges/{w['merge']}/undo", {"reason": "not same"}),
    "block": lambda w: (
        "/api/v1/blocks",
        {
            "site": "AAA",
            "start_at": "2026-11-24T07:00:00Z",
            "end_at": "2026-11-24T08:00:00Z",
            "reason": "power",
        },
    ),
}


CREATED = {"register": 201, "refer": 201, "book": 201, "block": 201}


@pytest.mark.parametrize("write", list(WRITES))
def test_every_write_needs_a_user_and_writes_nothing_without(api, anon, ctx, world, write):
    path, body = WRITES[write](world)
    before, board = event_count(ctx), tracker(api)
    found = problem(anon.post(path, json=body), 401, "Authorization")
    assert "token" in found["reason"] and found["status"] == 401
    assert anon.post(path, json=body).headers["www-authenticate"] == "Bearer"
    assert event_count(ctx) == before and tracker(api) == board
    assert ok(api.post(path, json=body), CREATED.get(write, 200))
    assert event_count(ctx) > before


@pytest.mark.parametrize("header", ["", "Bearer", "Bearer nope", "Basic YTpi", "lb_x"])
def test_an_unknown_or_malformed_token_is_refused(anon, ctx, header):
    before = event_count(ctx)
    body = {"cpr": random_cpr(), "family_name": "Lund"}
    response = anon.post("/api/v1/patients", json=body, headers={"Authorization": header})
    assert "bearer token" in problem(response, 401, "Authorization")["reason"]
    assert event_count(ctx) == before


def test_reads_need_a_user_but_no_role(api, anon, api_as, world):
    radiographer = api_as(Role.radiographer)
    assert procedure(radiographer, world["acc"])["procedure"]["accession"] == world["acc"]
    assert ok(radiographer.get(f"/api/v1/patients/{world['cpr']}"))["cpr"] == world["cpr"]
    problem(anon.get(f"/api/v1/patients/{world['cpr']}"), 401, "Authorization")


def test_a_write_outside_the_role_is_403_audited_and_writes_nothing(api_as, ctx, world):
    path, body = WRITES["register"](world)
    radiographer = api_as(Role.radiographer)
    before = event_count(ctx)
    found = problem(radiographer.post(path, json=body), 403, None)
    assert "booking_clerk" in found["reason"]
    with ctx.uow(readonly=True) as uow:
        kinds = uow.session.scalars(select(Event.kind).order_by(Event.id.desc()).limit(1)).all()
    assert kinds == ["access.denied"] and event_count(ctx) == before + 1
    assert ok(api_as(Role.booking_clerk).post(path, json=body), 201)


@pytest.mark.parametrize(
    "raw",
    [b"{", b'{"cpr": "0101651234",}', b"{'cpr': 1}", b'{"cpr": "0101651234" "x": 1}'],
)
def test_malformed_json_is_400_naming_the_body_and_where(api, ctx, raw):
    before = event_count(ctx)
    headers = {"content-type": "application/json"}
    found = problem(api.post("/api/v1/patients", content=raw, headers=headers), 400, "body")
    assert found["title"] == "Malformed JSON" and "at character" in found["reason"]
    assert event_count(ctx) == before


def test_a_missing_token_wins_over_malformed_json(anon):
    """The caller is checked before the body is read (issue 20), so no body is parsed
    for a stranger."""
    headers = {"content-type": "application/json"}
    problem(anon.post("/api/v1/patients", content=b"{", headers=headers), 401, "Authorization")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ([{"cpr": "0101651234"}], "body"),
        ("0101651234", "body"),
        (None, "body"),
        ({"cpr": 101651234, "family_name": "Lund"}, "cpr"),
        ({"cpr": ["0101651234"], "family_name": "Lund"}, "cpr"),
        ({"family_name": "Lund"}, "cpr"),
    ],
)
def test_body_of_the_wrong_shape_names_the_field(api, body, field):
    problem(api.post("/api/v1/patients", json=body), 422, field)


def test_every_invalid_field_is_listed(api):
    body = {"accession": 7, "slot_id": "late"}
    found = problem(api.post("/api/v1/appointments", json=body), 422, "accession")
    assert [(e["field"], e["in"]) for e in found["errors"]] == [
        ("accession", "body"),
        ("slot_id", "body"),
    ]


def test_a_missing_token_is_answered_before_the_body_is_checked(anon):
    problem(anon.post("/api/v1/appointments", json={}), 401, "Authorization")


def test_problem_details_carry_instance_value_and_reason(api):
    acc = refer(api, register(api)["cpr"])["procedures"][0]["accession"]
    found = problem(act(api, acc, "arrive"), 409, "state")
    assert found["instance"] == f"/api/v1/procedures/{acc}/arrive"
    assert found["type"] == "about:blank" and found["title"] == "Illegal transition"
    assert found["value"] == "arrived" and found["detail"].startswith("Invalid state 'arrived'")


def test_unknown_route_and_wrong_method_are_problems(api):
    missing = api.get("/api/v1/nowhere")
    assert missing.status_code == 404 and missing.headers["content-type"] == PROBLEM
    wrong = api.delete("/api/v1/patients")
    assert wrong.status_code == 405 and wrong.headers["content-type"] == PROBLEM
    assert "POST" in wrong.headers["allow"]


def test_no_page_loads_scripts_from_a_cdn(api):
    """Issue 20: FastAPI's /docs and /redoc load unpinned scripts from a CDN."""
    assert api.get("/docs").status_code == 404 and api.get("/redoc").status_code == 404


def test_openapi_describes_every_route_and_its_errors(api):
    spec = ok(api.get("/openapi.json"))
    assert spec["openapi"].startswith("3.") and spec["info"]["title"] == "Lysbord"
    operations = [
        (path, method, op) for path, item in spec["paths"].items() for method, op in item.items()
    ]
    assert len(operations) >= 17
    for path, method, op in operations:
        assert op.get("summary") and op.get("description"), f"{method} {path}"
        assert PROBLEM in op["responses"]["422"]["content"], f"{method} {path}"
        headers = [p for p in op.get("parameters", []) if p["in"] == "header"]
        assert "X-Lysbord-User" not in {h["name"] for h in headers}, f"{method} {path}"
        if path.startswith("/api/v1/") and path != "/api/v1/health":
            assert op["security"] == [{"HTTPBearer": []}], f"{method} {path}"
    problem_schema = spec["components"]["schemas"]["Problem"]
    assert {"title", "status", "detail", "field", "reason"} <= set(problem_schema["properties"])


EXPECTED_PATHS = [
    ("post", "/api/v1/patients"),
    ("get", "/api/v1/patients/{cpr}"),
    ("post", "/api/v1/patients/{cpr}/merge"),
    ("post", "/api/v1/patients/merges/{merge_id}/undo"),
    ("post", "/api/v1/referrals"),
    ("get", "/api/v1/referrals"),
    ("get", "/api/v1/procedures/{accession}"),
    ("post", "/api/v1/procedures/{accession}/{action}"),
    ("get", "/api/v1/slots"),
    ("post", "/api/v1/appointments"),
    ("post", "/api/v1/appointments/{appointment_id}/cancel"),
    ("get", "/api/v1/tracker"),
    ("get", "/api/v1/sites"),
    ("get", "/api/v1/procedure-codes"),
    ("post", "/api/v1/blocks"),
]


def test_openapi_lists_the_issue_endpoints(api):
    paths = ok(api.get("/openapi.json"))["paths"]
    assert [(m, p) for m, p in EXPECTED_PATHS if m not in paths.get(p, {})] == []


def test_every_datetime_in_every_answer_has_an_offset(api, world):
    path, body = WRITES["cancel"](world)
    answers = [
        ok(api.post(path, json=body)),
        book(api, world["acc"], world["slot"]),
        ok(act(api, world["acc"], "arrive")),
        ok(api.get("/api/v1/referrals")),
        ok(api.get(f"/api/v1/patients/{world['other']}")),
        slots(api, world["acc"], limit=3),
        tracker(api),
    ]
    counts = [assert_offsets(a) for a in answers]
    assert all(counts[:3]) and sum(counts) >= 20, counts


HUGE = "999999999999999999999"  # past a 64-bit integer: was a 500 with a traceback


@pytest.mark.parametrize(
    "path",
    ["/api/v1/referrals", "/api/v1/mpps/unmatched", "/api/v1/hl7/messages", "/api/v1/hl7/outbox"],
)
def test_an_offset_past_any_list_is_422_naming_offset(api, path):
    problem(api.get(path, params={"offset": HUGE}), 422, "offset")
    assert api.get(path, params={"offset": "1000000"}).status_code == 200  # empty, not refused


@pytest.mark.parametrize("path", ["/referrals", "/tracker/list", "/reading", "/unmatched"])
def test_pages_refuse_a_huge_offset_without_a_500(ctx, path):
    with TestClient(create_app(ctx)) as web:
        signed_in(web, ctx, Role.admin)
        assert web.get(path, params={"offset": HUGE}, follow_redirects=False).status_code == 422
