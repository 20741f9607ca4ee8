"""Sign-in, sessions, CSRF, roles and the status page over HTTP (TestClient, both backends).

The browser tests (tests/browser) drive the same pages in Chromium; these check the
exact answers: status codes, cookies, redirects and what is audited.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from lysbord.app import create_app
from lysbord.domain.access import Role
from lysbord.services.core.context import Context
from lysbord.services.operations.check import Finding
from lysbord.services.operations.status import record_check
from lysbord.store.models import Event
from tests.conftest import Clock
from tests.web_fixtures import csrf_of, sign_in, signed_in, user_for


@pytest.fixture
def web(bare_ctx: Context) -> Iterator[TestClient]:
    with TestClient(create_app(bare_ctx)) as client:
        yield client


def kinds(ctx: Context) -> list[str]:
    with ctx.uow(readonly=True) as uow:
        return list(uow.session.scalars(select(Event.kind).order_by(Event.id)))


def test_pages_need_a_session_and_come_back_after_sign_in(web, bare_ctx):
    away = web.get("/status?x=1", follow_redirects=False)
    assert away.status_code == 303 and away.headers["location"] == "/login?next=/status%3Fx%3D1"
    username, password = user_for(bare_ctx, Role.manager)
    form = {"username": username, "password": password, "csrf_token": csrf_of(web)}
    back = web.post("/login", data=form | {"next": "/status?x=1"}, follow_redirects=False)
    assert back.status_code == 303 and back.headers["location"] == "/status?x=1"
    cookie = back.headers["set-cookie"].lower()
    assert "lysbord_session=" in cookie and "httponly" in cookie and "samesite=lax" in cookie
    assert web.get("/status").status_code == 200


@pytest.mark.parametrize("target", ["//evil.example/x", "https://evil.example", "/\\evil"])
def test_next_never_leaves_the_site(web, bare_ctx, target):
    username, password = user_for(bare_ctx, Role.manager)
    form = {"username": username, "password": password, "csrf_token": csrf_of(web)}
    back = web.post("/login", data=form | {"next": target}, follow_redirects=False)
    assert back.headers["location"] == "/"


def test_wrong_password_and_unknown_user_get_one_answer_keeping_the_username(web, bare_ctx):
    username, _ = user_for(bare_ctx, Role.radiologist)
    answers = []
    for name, password in ((username, "not-the-password"), ("nobody-here", "whatever-1234")):
        form = {"username": name, "password": password, "csrf_token": csrf_of(web)}
        response = web.post("/login", data=form)
        assert response.status_code == 401 and "lysbord_session" not in web.cookies
        assert f'value="{name}"' in response.text and password not in response.text
        answers.append(response.text.replace(name, "NAME"))
    assert answers[0] == answers[1]


def test_the_sign_in_form_needs_its_csrf_token(web, bare_ctx):
    username, password = user_for(bare_ctx, Role.manager)
    csrf_of(web)  # the cookie is set, but the form field is left out
    refused = web.post("/login", data={"username": username, "password": password})
    assert refused.status_code == 403 and "sikkerhedsnøglen" in refused.text
    forged = web.post(
        "/login", data={"username": username, "password": password, "csrf_token": "x"}
    )
    assert forged.status_code == 403 and "user.signed_in" not in kinds(bare_ctx)


def test_sign_out_needs_the_session_token_and_ends_the_session(web, bare_ctx):
    signed_in(web, bare_ctx, Role.booking_clerk)
    assert web.post("/logout", data={"csrf_token": "guess"}).status_code == 403
    token = csrf_of(web, "/")
    out = web.post("/logout", data={"csrf_token": token}, follow_redirects=False)
    assert out.status_code == 303 and out.headers["location"] == "/login"
    assert "Du er logget ud" in web.get("/login").text
    assert web.get("/", follow_redirects=False).status_code == 303
    assert kinds(bare_ctx)[-1] == "user.signed_out"


def test_an_expired_session_goes_back_to_sign_in_with_a_message(web, bare_ctx, clock: Clock):
    signed_in(web, bare_ctx, Role.booking_clerk)
    token = csrf_of(web, "/")
    clock.advance(hours=bare_ctx.settings.web.session_hours, seconds=1)
    away = web.get("/", follow_redirects=False)
    assert away.headers["location"] == "/login?next=/&expired=1"
    page = web.get(away.headers["location"])
    assert "Din session er udløbet" in page.text and "lysbord_session" not in web.cookies
    signed_in(web, bare_ctx, Role.booking_clerk)
    clock.advance(hours=bare_ctx.settings.web.session_hours, seconds=1)
    post = web.post("/logout", data={"csrf_token": token}, follow_redirects=False)
    assert post.status_code == 303 and "expired=1" in post.headers["location"]


def test_a_page_outside_the_role_is_403_and_audited(web, bare_ctx):
    username = signed_in(web, bare_ctx, Role.radiographer)
    refused = web.get("/status")
    assert refused.status_code == 403 and "Ingen adgang" in refused.text
    with bare_ctx.uow(readonly=True) as uow:
        event = uow.session.scalars(select(Event).where(Event.kind == "access.denied")).one()
        assert (event.actor, event.data["path"], event.data["needed"]) == (
            username,
            "/status",
            ["manager"],
        )


def test_language_switch_is_a_cookie_and_english_follows(web):
    assert web.get("/login").text.count("Log ind") >= 2
    switched = web.get("/lang", params={"to": "en", "next": "/login"}, follow_redirects=False)
    assert switched.headers["location"] == "/login" and web.cookies["lang"] == "en"
    page = web.get("/login").text
    assert '<html lang="en">' in page and "Sign in" in page and "Log ind" not in page
    web.get("/lang", params={"to": "xx", "next": "//evil"})
    assert web.cookies["lang"] == "da"


def test_status_shows_doors_queues_and_the_last_check(web, bare_ctx):
    signed_in(web, bare_ctx, Role.manager)
    assert "Kontrollen er ikke kørt endnu" in web.get("/status").text
    findings = [Finding("no slot is booked twice", 0, []), Finding("queues", 2, ["a", "b"])]
    record_check(bare_ctx, findings, skipped_blobs=True, actor="cli")
    page = web.get("/status").text
    assert "HTTP (web og REST API)" in page and "DICOM" in page and "HL7 (MLLP)" in page
    assert "1 regler er brudt" in page and "queues: 2" in page and "--skip-blobs" in page
    assert "Udgående beskeder (outbox)" in page


def test_an_admin_sees_every_screen_a_clerk_only_theirs(web, bare_ctx):
    signed_in(web, bare_ctx, Role.admin)
    assert 'href="/status"' in web.get("/").text
    username, password = user_for(bare_ctx, Role.booking_clerk)
    web.cookies.clear()
    sign_in(web, username, password)
    home = web.get("/").text
    assert 'href="/status"' not in home and 'href="/patients"' in home


def test_api_writes_with_a_session_need_the_csrf_header(web, bare_ctx):
    signed_in(web, bare_ctx, Role.booking_clerk)
    body = {"cpr": "0101010000", "family_name": "Lund"}
    refused = web.post("/api/v1/patients", json=body)
    assert refused.status_code == 401 and "X-CSRF-Token" in refused.json()["reason"]
    assert web.get("/api/v1/sites").status_code == 200
    token = csrf_of(web, "/")
    assert web.post("/api/v1/patients", json=body, headers={"X-CSRF-Token": token}).status_code in (
        201,
        422,
    )


SECRET = re.compile(r'<code class="secret">([^<]+)</code>')


def test_admin_adds_a_user_resets_a_password_and_issues_a_token(web, bare_ctx):
    signed_in(web, bare_ctx, Role.admin)
    token = csrf_of(web, "/users")
    form = {"csrf_token": token, "username": "ny.bruger", "display_name": "Ny Bruger"}
    bad = web.post("/users", data=form | {"roles": []})
    assert bad.status_code == 422 and 'value="ny.bruger"' in bad.text and "e-roles" in bad.text
    added = web.post("/users", data=form | {"roles": ["radiographer", "radiologist"]})
    assert added.status_code == 201
    first = SECRET.search(added.text)
    assert first and "Radiograf, Radiolog" in added.text
    reset = web.post("/users/ny.bruger/password", data={"csrf_token": token})
    second = SECRET.search(reset.text)
    assert second and second.group(1) != first.group(1)
    issued = SECRET.search(web.post("/users/ny.bruger/tokens", data={"csrf_token": token}).text)
    assert issued and issued.group(1).startswith("lb_")
    with TestClient(web.app, headers={"Authorization": f"Bearer {issued.group(1)}"}) as api:
        body = {"reason": "test"}
        answer = api.post("/api/v1/procedures/LB99999999/arrive", json=body)
        assert answer.status_code == 404  # authenticated, allowed, and the procedure is unknown
    web.cookies.clear()
    sign_in(web, "ny.bruger", second.group(1))
    assert web.get("/users").status_code == 403


def test_htmx_requests_are_sent_to_sign_in_and_pages_refuse_framing(web):
    htmx = web.get("/status", headers={"HX-Request": "true"}, follow_redirects=False)
    assert htmx.status_code == 200 and htmx.headers["HX-Redirect"] == "/login?next=/status"
    page = web.get("/login")
    assert page.headers["x-frame-options"] == "DENY" and page.headers["x-content-type-options"]
    csp = page.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp


def test_admin_deactivates_a_user_and_revokes_a_token(web, bare_ctx):
    admin = signed_in(web, bare_ctx, Role.admin)
    username, password = user_for(bare_ctx, Role.booking_clerk)
    token = csrf_of(web, "/users")
    issued = SECRET.search(web.post(f"/users/{username}/tokens", data={"csrf_token": token}).text)
    assert issued
    page = web.get("/users").text
    revoke = re.search(r'action="/users/tokens/(\d+)/revoke"', page)
    assert revoke and f"Deaktivér {username}" in page
    revoked = web.post(f"/users/tokens/{revoke.group(1)}/revoke", data={"csrf_token": token})
    assert revoked.status_code == 200 and 'action="/users/tokens/' not in revoked.text
    with TestClient(web.app, headers={"Authorization": f"Bearer {issued.group(1)}"}) as api:
        assert api.get("/api/v1/sites").status_code == 401
    closed = web.post(f"/users/{username}/active", data={"csrf_token": token})
    assert closed.status_code == 200 and f"Genaktivér {username}" in closed.text
    own = web.post(f"/users/{admin}/active", data={"csrf_token": token})
    assert own.status_code == 409 and "deaktivere din egen konto" in own.text
    with TestClient(web.app) as other:
        form = {"username": username, "password": password, "csrf_token": csrf_of(other)}
        assert other.post("/login", data=form).status_code == 401
    reopened = web.post(f"/users/{username}/active", data={"csrf_token": token, "active": "true"})
    assert reopened.status_code == 200 and f"Deaktivér {username}" in reopened.text
