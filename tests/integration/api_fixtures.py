"""The REST API as a client sees it: a TestClient on the ``ctx`` region, and small steps.

Test modules import ``api_fixture`` from here; tests then ask for ``api`` (the fixture's
name, so the import does not shadow the argument), a client whose bearer token belongs
to a user with every role. ``api_as_fixture`` gives ``api_as(*roles)``, a client for a
user with just those roles, and ``anon`` one without a token. Every step goes through HTTP.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient

from lysbord.app import create_app
from lysbord.domain.access import Role
from lysbord.services.core.context import Context
from tests.helpers import random_cpr
from tests.web_fixtures import bearer

PROBLEM = "application/problem+json"
ISO_DATETIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d")


@pytest.fixture(name="api")
def api_fixture(ctx: Context) -> Iterator[TestClient]:
    with TestClient(create_app(ctx), headers=bearer(ctx, username="api.tester")) as client:
        yield client


@pytest.fixture(name="api_as")
def api_as_fixture(api: TestClient, ctx: Context) -> Callable[..., TestClient]:
    """``api_as(Role.radiographer)``: a client on the same app for a user with those roles."""

    def client(*roles: Role) -> TestClient:
        return TestClient(api.app, headers=bearer(ctx, *roles) if roles else None)

    return client


@pytest.fixture(name="anon")
def anon_fixture(api_as: Callable[..., TestClient]) -> TestClient:
    """A client that names no user."""
    return api_as()


def ok(response: Any, status: int = 200) -> Any:
    """The JSON of a successful answer, or a failure that shows the problem detail."""
    assert response.status_code == status, response.text
    return response.json()


def problem(response: Any, status: int, field: str | None) -> dict[str, Any]:
    """Check an error answer is a problem detail with this status naming this field."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    body: dict[str, Any] = response.json()
    assert body["status"] == status and body["title"] and body["detail"]
    assert body.get("field") == field, body
    if field is not None:
        assert body["reason"], body
    return body


def register(api: TestClient, cpr: str | None = None, **fields: Any) -> dict[str, Any]:
    body = {"cpr": cpr or random_cpr(), "family_name": "Sørensen", "given_name": "Åse"}
    return ok(api.post("/api/v1/patients", json=body | fields), 201)


def referral_body(cpr: str, priority: str = "routine", **fields: Any) -> dict[str, Any]:
    body = {
        "cpr": cpr,
        "referring_unit": "Lungemedicinsk afd.",
        "clinical_question": "Mistanke om lungecancer",
        "priority": priority,
        "procedures": ["UXCC00"],
    }
    return body | fields


def refer(api: TestClient, cpr: str, priority: str = "routine", **fields: Any) -> dict[str, Any]:
    body = referral_body(cpr, priority, **fields)
    return ok(api.post("/api/v1/referrals", json=body), 201)


def accession(api: TestClient, priority: str = "routine", **fields: Any) -> str:
    """A new patient with one referral; the accession number of its first procedure."""
    return str(refer(api, register(api)["cpr"], priority, **fields)["procedures"][0]["accession"])


def slots(api: TestClient, acc: str, **params: Any) -> list[dict[str, Any]]:
    return ok(api.get("/api/v1/slots", params={"accession": acc, **params}))


def book(api: TestClient, acc: str, slot_id: int) -> dict[str, Any]:
    body = {"accession": acc, "slot_id": slot_id}
    return ok(api.post("/api/v1/appointments", json=body), 201)


def procedure(api: TestClient, acc: str) -> dict[str, Any]:
    return ok(api.get(f"/api/v1/procedures/{acc}"))


def act(api: TestClient, acc: str, action: str, reason: str | None = None) -> Any:
    body = {"reason": reason} if reason else None
    return api.post(f"/api/v1/procedures/{acc}/{action}", json=body)


def tracker(api: TestClient) -> dict[str, Any]:
    return ok(api.get("/api/v1/tracker"))


def datetimes(value: Any, path: str = "") -> Iterator[tuple[str, str]]:
    """Every string in a JSON answer that looks like a date and time, with where it is."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield from datetimes(item, f"{path}.{key}")
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from datetimes(item, f"{path}[{i}]")
    elif isinstance(value, str) and ISO_DATETIME.match(value):
        yield path, value


def assert_offsets(value: Any) -> int:
    """Every datetime is ISO 8601 with a UTC offset (never naive); returns how many."""
    found = list(datetimes(value))
    for path, text in found:
        parsed = datetime.fromisoformat(text)
        assert parsed.utcoffset() is not None, f"{path} = {text!r} has no offset"
    return len(found)
