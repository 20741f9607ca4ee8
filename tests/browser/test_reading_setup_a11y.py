"""The administrator's new pages and the roster warning in Chromium (issue 23): each reads
in Danish and axe-core finds nothing serious; a template refused for an unknown field says
so beside the text; the radiographer off the day's roster sees the warning and a reason field."""

from __future__ import annotations

from collections.abc import Callable

from playwright.sync_api import Page, expect

from lysbord.domain.access import Role
from lysbord.domain.calendar import local_date
from lysbord.services.core.context import Context
from lysbord.services.pathway import booking, procedures, roster
from lysbord.services.pathway.booking import SlotSearch
from lysbord.services.pathway.procedures import Action
from tests.helpers import new_referral
from tests.web_fixtures import user_for

SignIn = Callable[..., None]
Check = Callable[[Page], None]


def test_the_admin_pages_are_accessible(page: Page, sign_in: SignIn, check_a11y: Check) -> None:
    sign_in(page, Role.admin, "/admin")
    expect(page.get_by_role("heading", level=1)).to_have_text("Administration")
    page.get_by_role("link", name="Beskrivelsesskabeloner").click()
    page.get_by_label("Navn").fill("CT thorax")
    page.get_by_label("Undersøgelseskoder").select_option("UXCC00")
    page.get_by_label("Tekst").fill("Svar: {{diagnose}}")
    page.get_by_role("button", name="Gem skabelon").click()
    expect(page.locator("#e-text")).to_contain_text("Ukendt felt {{diagnose}} i teksten")
    check_a11y(page)
    page.goto("/roster")
    expect(page.get_by_role("heading", level=1)).to_have_text("Vagtplan for rummene")
    check_a11y(page)


def test_the_day_list_warns_who_is_off_the_roster(
    page: Page, sign_in: SignIn, ctx: Context, check_a11y: Check
) -> None:
    accession = new_referral(ctx).procedures[0].accession
    offer = booking.find_slots(ctx, SlotSearch(accession, sites=["AAA"], limit=1))[0]
    day = local_date(booking.book(ctx, accession, offer.slot_id, "clerk").start_at)
    procedures.apply(ctx, accession, Action.ARRIVE, "porter")
    on_duty, _ = user_for(ctx, Role.radiographer)
    roster.add_to_roster(ctx, "AAACT1", day, on_duty, "admin")
    sign_in(page, Role.radiographer, f"/rooms/AAACT1?day={day.isoformat()}")
    expect(page.locator("#off-roster")).to_contain_text("Du står ikke på vagtplanen")
    expect(page.locator(f"#row-{accession}").get_by_label("Begrundelse")).to_be_visible()
    check_a11y(page)
