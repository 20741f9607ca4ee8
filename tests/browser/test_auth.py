"""Signing in and out in Chromium: each role, refusals, lock-out, expiry, language, keyboard."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from lysbord.domain.access import Role
from lysbord.services.core.context import Context
from lysbord.store.models import Event
from tests.conftest import Clock

REFUSED = "Brugernavn eller adgangskode er forkert"
#: A screen each role sees in its menu, and one it does not (None: sees everything).
MENUS = {
    Role.booking_clerk: ("Booking", "Systemstatus"),
    Role.radiographer: ("Rumlister", "Booking"),
    Role.radiologist: ("Beskrivelse", "Systemstatus"),
    Role.screening_coordinator: ("Henvisninger", "Rumlister"),
    Role.manager: ("Systemstatus", None),
    Role.admin: ("Systemstatus", None),
}


def menu(page: Page):  # noqa: ANN201 - a Playwright locator
    return page.get_by_role("navigation", name="Hovedmenu")


def submit_login(page: Page, username: str, password: str) -> None:
    page.get_by_label("Brugernavn").fill(username)
    page.get_by_label("Adgangskode").fill(password)
    page.get_by_role("button", name="Log ind").click()


@pytest.mark.parametrize("role", list(Role))
def test_each_role_signs_in_and_sees_its_screens(page, sign_in, users, role, screenshot):
    sign_in(page, role)
    username, _ = users[role]
    expect(page.get_by_role("heading", level=1)).to_contain_text(f"Test {username}")
    shown, hidden = MENUS[role]
    expect(menu(page).get_by_role("link", name=shown)).to_be_visible()
    if hidden:
        expect(menu(page).get_by_role("link", name=hidden)).to_have_count(0)
    if role is Role.admin:
        screenshot(page, "home-admin")


def test_wrong_password_and_unknown_user_give_the_same_message(page, users, screenshot):
    username, _ = users[Role.booking_clerk]
    page.goto("/login")
    submit_login(page, username, "forkert-kodeord")
    expect(page.get_by_role("alert")).to_contain_text(REFUSED)
    expect(page.get_by_label("Brugernavn")).to_have_value(username)
    expect(page.get_by_label("Adgangskode")).to_have_value("")
    wrong_password = page.get_by_role("alert").inner_text()
    screenshot(page, "login-refused")
    submit_login(page, "ingen.saadan", "forkert-kodeord")
    assert page.get_by_role("alert").inner_text() == wrong_password


def test_lock_out_after_repeated_failures(page, ctx: Context, users, clock: Clock):
    username, password = users[Role.radiologist]
    page.goto("/login")
    for _ in range(ctx.settings.web.lockout_threshold):
        submit_login(page, username, "forkert-kodeord")
        expect(page.get_by_role("alert")).to_contain_text(REFUSED)
    submit_login(page, username, password)  # right, but locked: the same answer
    expect(page.get_by_role("alert")).to_contain_text(REFUSED)
    clock.advance(minutes=ctx.settings.web.lockout_minutes, seconds=1)
    submit_login(page, username, password)
    expect(page.get_by_role("button", name="Log ud")).to_be_visible()


def test_an_expired_session_returns_to_sign_in_with_a_message(page, sign_in, ctx, clock: Clock):
    sign_in(page, Role.manager, "/status")
    clock.advance(hours=ctx.settings.web.session_hours, seconds=1)
    page.reload()
    expect(page).to_have_url(re.compile(r"/login\?next=/status&expired=1$"))
    expect(page.get_by_role("status")).to_contain_text("Din session er udløbet")


def test_sign_out(page, sign_in):
    sign_in(page, Role.booking_clerk)
    page.get_by_role("button", name="Log ud").click()
    expect(page.get_by_role("status")).to_contain_text("Du er logget ud")
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/login\?next=/$"))


def test_language_switch_follows_the_user(page, sign_in):
    page.goto("/login")
    page.get_by_role("button", name="English").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign in")
    page.get_by_label("Username")  # labels are English too
    sign_in_en = page.get_by_role("button", name="Sign in")
    expect(sign_in_en).to_be_visible()
    page.get_by_role("button", name="Dansk").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Log ind")


def test_a_page_outside_the_role_is_403_and_audited(page, sign_in, ctx, users, screenshot):
    sign_in(page, Role.radiographer)
    response = page.goto("/status")
    assert response is not None and response.status == 403
    expect(page.get_by_role("heading", level=1)).to_have_text("Ingen adgang")
    screenshot(page, "forbidden")
    with ctx.uow(readonly=True) as uow:
        actors = uow.session.scalars(select(Event.actor).where(Event.kind == "access.denied"))
        assert list(actors) == [users[Role.radiographer][0]]


def test_a_form_without_its_csrf_token_is_refused(page, users):
    username, password = users[Role.admin]
    page.goto("/login")
    page.evaluate("document.querySelector('input[name=csrf_token]').remove()")
    submit_login(page, username, password)
    expect(page.get_by_role("alert")).to_contain_text("sikkerhedsnøglen")
    expect(page.get_by_role("button", name="Log ud")).to_have_count(0)


def test_the_login_form_works_from_the_keyboard(page, users, check_a11y, screenshot):
    username, password = users[Role.booking_clerk]
    page.goto("/login")
    expect(page.get_by_label("Brugernavn")).to_be_focused()  # autofocus
    screenshot(page, "login")
    check_a11y(page)
    page.keyboard.type(username)
    page.keyboard.press("Tab")
    expect(page.get_by_label("Adgangskode")).to_be_focused()
    page.keyboard.type(password)
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Log ind")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.get_by_role("button", name="Log ud")).to_be_visible()
