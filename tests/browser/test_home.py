"""The start page in Chromium: each role signs in and finds its own work first, and the
first link of it opens the screen behind it. axe stays clean on every start page."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from lysbord.domain.access import Role
from lysbord.domain.priorities import Priority
from lysbord.services.core.context import Context
from lysbord.services.pathway import booking, procedures
from lysbord.services.pathway.booking import SlotSearch
from lysbord.services.pathway.procedures import Action
from tests.helpers import new_patient, new_referral

#: role -> (the section's heading, the link its work opens first, the heading that opens)
WORK = {
    Role.booking_clerk: ("Booking", "Book CT af thorax", "CT af thorax"),
    Role.radiographer: ("Rummene i dag", "CT 1", "CT 1, Alfa Hospital"),
    Role.radiologist: ("Til beskrivelse", "Beskriv CT af thorax", "CT af thorax"),
    Role.screening_coordinator: ("Overskredet", "Overskredet frist", "Overskredet frist"),
    Role.manager: ("Overskredet", "Overskredet frist", "Overskredet frist"),
    Role.admin: ("Brugere", "aktive brugere", "Brugere"),
}


@pytest.fixture
def a_day_of_work(ctx: Context) -> None:
    """A late referral awaiting booking, one booked today at Alfa's CT, one to report."""
    late = ctx.now() - timedelta(days=40)
    new_referral(ctx, new_patient(ctx, family_name="Andersen"), received_at=late)
    today = new_referral(ctx, new_patient(ctx, family_name="Bohr"))
    acc = today.procedures[0].accession
    offer = booking.find_slots(ctx, SlotSearch(acc, sites=["AAA"], limit=1))[0]
    booking.book(ctx, acc, offer.slot_id, "clerk")
    done = new_referral(ctx, new_patient(ctx, family_name="Curie"), priority=Priority.URGENT)
    acc = done.procedures[0].accession
    offer = booking.find_slots(ctx, SlotSearch(acc, sites=["BBB"], limit=1))[0]
    booking.book(ctx, acc, offer.slot_id, "clerk")
    for action in (Action.ARRIVE, Action.START, Action.COMPLETE):
        procedures.act(ctx, acc, action, "radiographer")


@pytest.mark.parametrize("role", list(WORK))
def test_each_role_starts_on_its_own_work(
    page: Page,
    sign_in: Callable[..., None],
    a_day_of_work: None,
    role: Role,
    check_a11y: Callable[[Page], None],
    screenshot: Callable[[Page, str], Path],
) -> None:
    heading, link, lands_on = WORK[role]
    sign_in(page, role)
    work = page.locator("section.card").filter(
        has=page.get_by_role("heading", level=2, name=heading, exact=True)
    )
    expect(work).to_be_visible()
    check_a11y(page)
    screenshot(page, f"home-{role.value.replace('_', '-')}")
    work.get_by_role("link", name=link).first.click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(lands_on)
    check_a11y(page)
