"""The booking clerk's main flow in Chromium, and the forms' bad input.

Find the patient -> book -> see the booking on the room's day list -> cancel with a
reason and book again; a bad CPR and a slot someone else took are shown beside their
field with what was typed kept. Screenshots of each screen go to docs/screenshots/.
"""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from lysbord.domain.access import Role
from lysbord.domain.calendar import local_date
from lysbord.domain.priorities import Priority
from lysbord.services.core.context import Context
from lysbord.services.pathway import booking, procedures
from lysbord.services.pathway.booking import SlotSearch
from tests.helpers import new_patient, new_referral


def cpr_shown(cpr: str) -> str:
    return f"{cpr[:6]}-{cpr[6:]}"


def test_find_book_day_list_cancel_and_rebook(
    page: Page, sign_in, ctx: Context, screenshot, check_a11y
) -> None:
    cpr = new_patient(ctx, family_name="Kierkegaard", given_name="Søren")
    acc = new_referral(ctx, cpr, priority=Priority.URGENT).procedures[0].accession
    sign_in(page, Role.booking_clerk, "/patients")

    page.get_by_label("CPR-nummer eller navn").fill("kierkegaard")  # hits follow typing (htmx)
    page.get_by_role("link", name=cpr_shown(cpr)).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Kierkegaard, Søren")
    page.get_by_role("link", name=f"Book {acc}").click()

    expect(page.get_by_role("heading", level=1)).to_contain_text(acc)
    check_a11y(page)
    page.get_by_role("button", name="Book den valgte tid").click()
    expect(page.get_by_role("status")).to_have_text("Tiden er booket.")
    expect(page.locator("#state")).to_have_text("Booket")
    first = procedures.get_procedure(ctx, acc).procedure.appointment
    screenshot(page, "booking")

    page.get_by_role("link", name="Rummets dagsliste").click()
    row = page.locator(f"#row-{acc}")
    expect(row).to_contain_text("Kierkegaard, Søren")
    expect(row).to_contain_text("Booket")

    page.go_back()
    page.get_by_label("Begrundelse for aflysning").fill("Patienten er syg")
    page.get_by_role("button", name="Aflys tiden").click()
    expect(page.get_by_role("status")).to_contain_text("Tiden er aflyst")
    expect(page.locator("#state")).to_have_text("Afventer booking")
    page.locator("input[name=slot_id]").nth(1).check()
    page.get_by_role("button", name="Book den valgte tid").click()
    expect(page.locator("#state")).to_have_text("Booket")
    again = procedures.get_procedure(ctx, acc).procedure.appointment
    assert first is not None and again is not None and again.slot_id != first.slot_id

    detail = procedures.get_procedure(ctx, acc)
    kinds = [e.kind for e in detail.events]
    assert kinds[-3:] == ["procedure.booked", "appointment.cancelled", "procedure.booked"]
    assert {e.actor for e in detail.events[-3:]} == {"booking_clerk.test"}
    page.goto(f"/patients/{cpr}")
    page.get_by_text(re.compile(r"^Hændelser")).click()
    expect(page.locator(".timeline")).to_contain_text("Patienten er syg")
    check_a11y(page)
    screenshot(page, "patient")


def test_invalid_cpr_is_shown_beside_the_field_and_keeps_what_was_typed(
    page: Page, sign_in, screenshot, check_a11y
) -> None:
    sign_in(page, Role.booking_clerk, "/patients")
    page.get_by_label("CPR-nummer", exact=True).fill("320199-1234")
    page.get_by_label("Efternavn").fill("Ørsted")
    page.get_by_label("Fornavn").fill("Hans Christian")
    page.get_by_role("button", name="Opret").click()
    cpr_field = page.get_by_label("CPR-nummer", exact=True)
    expect(cpr_field).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#e-cpr")).to_contain_text("Ugyldigt CPR-nummer")
    expect(cpr_field).to_have_value("320199-1234")
    expect(page.get_by_label("Efternavn")).to_have_value("Ørsted")
    expect(page.get_by_label("Fornavn")).to_have_value("Hans Christian")
    check_a11y(page)
    screenshot(page, "patients")


def test_a_slot_taken_meanwhile_is_refused_beside_the_choice(
    page: Page, sign_in, ctx: Context, screenshot
) -> None:
    mine = new_referral(ctx).procedures[0].accession
    other = new_referral(ctx).procedures[0].accession
    sign_in(page, Role.booking_clerk, f"/booking/{mine}")
    chosen = page.locator("input[name=slot_id]:checked").get_attribute("value")
    assert chosen is not None
    booking.book(ctx, other, int(chosen), "another.clerk")  # someone else was quicker

    page.get_by_role("button", name="Book den valgte tid").click()
    expect(page.locator("#e-slot_id")).to_contain_text("Tiden er allerede booket")
    expect(page.locator("#state")).to_have_text("Afventer booking")
    expect(page.locator(f"input[name=slot_id][value='{chosen}']")).to_have_count(0)
    screenshot(page, "booking-slot-taken")


def test_calendar_shows_the_booking_in_its_room(
    page: Page, sign_in, ctx: Context, screenshot, check_a11y
) -> None:
    acc = new_referral(ctx).procedures[0].accession
    offer = booking.find_slots(ctx, SlotSearch(acc, sites=["AAA"], limit=1))[0]
    booking.book(ctx, acc, offer.slot_id, "clerk")
    day = local_date(offer.start_at).isoformat()
    sign_in(page, Role.booking_clerk, f"/rooms/AAACT1/calendar?day={day}")
    expect(page.get_by_role("link", name=re.compile("Sørensen, Åse"))).to_be_visible()
    check_a11y(page)
    screenshot(page, "calendar")


def test_booking_with_the_keyboard_only(page: Page, sign_in, ctx: Context) -> None:
    acc = new_referral(ctx).procedures[0].accession
    sign_in(page, Role.booking_clerk, f"/booking/{acc}")
    choices = page.locator("input[name=slot_id]")
    second = choices.nth(1).get_attribute("value")
    choices.first.focus()
    page.keyboard.press("ArrowDown")  # the radio group: the next slot
    page.keyboard.press("Tab")  # on to the book button
    expect(page.get_by_role("button", name="Book den valgte tid")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("#state")).to_have_text("Booket")
    appointment = procedures.get_procedure(ctx, acc).procedure.appointment
    assert appointment is not None and str(appointment.slot_id) == second
