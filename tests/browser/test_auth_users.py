"""The administrator's users page in Chromium: add a user, then that user signs in."""

from __future__ import annotations

from playwright.sync_api import expect

from lysbord.domain.access import Role


def test_admin_adds_a_user_who_then_signs_in(page, sign_in, screenshot, check_a11y):
    sign_in(page, Role.admin, "/users")
    page.get_by_label("Brugernavn").fill("ny.radiograf")
    page.get_by_label("Navn", exact=True).fill("Nina Radiograf")
    page.get_by_role("checkbox", name="Radiograf").check()
    page.get_by_role("button", name="Opret bruger").click()
    expect(page.get_by_role("status")).to_contain_text("Adgangskode til ny.radiograf")
    password = page.locator("code.secret").inner_text()
    expect(page.get_by_role("row", name="ny.radiograf")).to_contain_text("Radiograf")
    screenshot(page, "users")
    check_a11y(page)
    page.get_by_role("button", name="Log ud").click()
    page.get_by_label("Brugernavn").fill("ny.radiograf")
    page.get_by_label("Adgangskode").fill(password)
    page.get_by_role("button", name="Log ind").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Nina Radiograf")


def test_a_user_without_roles_is_refused_keeping_what_was_typed(page, sign_in):
    sign_in(page, Role.admin, "/users")
    page.get_by_label("Brugernavn").fill("uden.rolle")
    page.get_by_role("button", name="Opret bruger").click()
    expect(page.get_by_role("alert")).to_contain_text("Formularen har fejl")
    expect(page.get_by_label("Brugernavn")).to_have_value("uden.rolle")
    expect(page.get_by_text("mindst én rolle")).to_be_visible()
