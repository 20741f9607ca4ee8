"""Each role's main screens in Chromium: what they show, what they do, and who may not.

Booking clerk: the inbox, triage, the tracker with its drill-down. Radiographer: the
room's day list (arrived / no-show) and the unmatched studies queue. Radiologist: the
reading worklist, the report editor, signing. A role without the right gets the 403 page.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from playwright.sync_api import Page, expect

from lysbord.domain.access import Role
from lysbord.domain.calendar import local_date
from lysbord.domain.priorities import Priority
from lysbord.services.core.context import Context
from lysbord.services.pathway import booking, procedures, reports
from lysbord.services.pathway.booking import SlotSearch
from lysbord.services.pathway.procedures import Action
from tests.helpers import new_patient, new_referral
from tests.integration.test_reconcile import send


def test_clerk_inbox_triage_and_tracker(
    page: Page, sign_in, ctx: Context, screenshot, check_a11y
) -> None:
    late = ctx.now() - timedelta(days=40)
    routine = new_referral(ctx, new_patient(ctx, family_name="Andersen"), received_at=late)
    cancer = new_referral(
        ctx, new_patient(ctx, family_name="Bohr"), priority=Priority.CANCER_PATHWAY
    )
    sign_in(page, Role.booking_clerk, "/referrals")

    rows = page.locator("#inbox tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.first).to_contain_text("Kræftpakke")
    expect(rows.nth(1)).to_contain_text("Overskredet frist")
    check_a11y(page)
    screenshot(page, "inbox")

    rows.nth(1).get_by_role("link", name="Visitér").click()
    page.get_by_label("Ny prioritet").select_option("urgent")
    page.get_by_label("Begrundelse").fill("Tumor set på røntgen")
    check_a11y(page)
    screenshot(page, "triage")
    page.get_by_role("button", name="Gem prioritet").click()
    expect(page.get_by_role("status")).to_contain_text("Prioriteten er ændret")
    assert (
        procedures.get_procedure(ctx, routine.procedures[0].accession).referral.priority == "urgent"
    )

    page.goto("/tracker")
    check_a11y(page)
    screenshot(page, "tracker")
    page.locator("#board tfoot").get_by_role("link", name="2").click()
    page.get_by_role("link", name=cancer.patient_name).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Bohr")


def test_radiographer_day_list_and_unmatched_queue(
    page: Page, sign_in, ctx: Context, screenshot, check_a11y
) -> None:
    refs = [new_referral(ctx) for _ in range(3)]
    accs = [ref.procedures[0].accession for ref in refs]
    starts = []
    for acc in accs:
        offer = booking.find_slots(ctx, SlotSearch(acc, sites=["AAA"], limit=1))[0]
        starts.append(booking.book(ctx, acc, offer.slot_id, "clerk").start_at)
    for action in (Action.ARRIVE, Action.START):  # the scanner's MPPS would do the same
        procedures.act(ctx, accs[2], action, "AAACT1")
    owner = new_patient(ctx, family_name="Hansen", given_name="Jens")
    send(ctx, patient_id="0101010000", accession="XX123", name="Ukendt^Patient")
    sign_in(page, Role.radiographer, f"/rooms/AAACT1?day={local_date(starts[0]).isoformat()}")

    first, second = (page.locator(f"#row-{acc}") for acc in accs[:2])
    first.get_by_role("button", name="Ankommet").click()
    expect(page.get_by_role("status")).to_contain_text("ankommet")
    expect(first.locator(".state")).to_have_text("Ankommet")
    second.get_by_role("button", name="Udeblevet").click()
    expect(second.locator(".state")).to_have_text("Udeblevet")
    first.get_by_role("button", name="Start undersøgelse").click()
    expect(page.get_by_role("status")).to_have_text("Undersøgelsen er startet.")
    send(ctx, patient_id=refs[0].cpr, accession=accs[0], count=2)  # as the scanner sends
    first.get_by_label("Forventede billeder").fill("2")
    first.get_by_role("button", name="Afslut").click()
    expect(page.get_by_role("status")).to_have_text("Undersøgelsen er afsluttet.")
    expect(first.locator(".state")).to_have_text("Udført")
    expect(first.locator(".images")).to_contain_text("2 af 2")
    expect(page.locator(f"#row-{accs[2]} .state")).to_have_text("I gang")
    check_a11y(page)
    screenshot(page, "day-list")

    page.goto("/unmatched")
    expect(page.get_by_role("heading", name="Ukendt, Patient")).to_be_visible()
    check_a11y(page)
    screenshot(page, "unmatched")
    page.get_by_label("Eller kun til patient (CPR)").fill(owner)
    page.get_by_label("Begrundelse").fill("Navn og fødselsdato tjekket med afdelingen")
    page.get_by_role("button", name="Tilknyt").click()
    expect(page.get_by_role("status")).to_have_text("Billederne er tilknyttet.")
    expect(page.get_by_text("Ingen billeder venter.")).to_be_visible()


def test_radiologist_reads_saves_and_signs(
    page: Page, sign_in, ctx: Context, screenshot, check_a11y
) -> None:
    ref = new_referral(ctx, priority=Priority.URGENT)
    acc = ref.procedures[0].accession
    offer = booking.find_slots(ctx, SlotSearch(acc, limit=1))[0]
    booking.book(ctx, acc, offer.slot_id, "clerk")
    for action in (Action.ARRIVE, Action.START, Action.COMPLETE):
        procedures.act(ctx, acc, action, "radiographer")
    sign_in(page, Role.radiologist, "/reading")

    expect(page.locator("#reading")).to_contain_text(acc)
    check_a11y(page)
    screenshot(page, "reading")
    page.get_by_role("link", name=f"Beskriv {acc}").click()
    page.get_by_label("Beskrivelse", exact=True).fill("Ingen tegn på malignitet.")
    page.get_by_role("button", name="Gem kladde").click()
    expect(page.get_by_role("status")).to_have_text("Kladden er gemt.")
    expect(page.get_by_label("Beskrivelse", exact=True)).to_have_value("Ingen tegn på malignitet.")
    check_a11y(page)
    screenshot(page, "report")
    page.get_by_role("button", name="Underskriv (endelig)").click()
    expect(page.get_by_role("status")).to_contain_text("underskrevet")
    expect(page.get_by_text("Intet afventer beskrivelse.")).to_be_visible()
    versions = reports.list_reports(ctx, acc)
    assert [(v.status, v.author) for v in versions] == [
        ("preliminary", "radiologist.test"),
        ("final", "radiologist.test"),
    ]


@pytest.mark.parametrize(
    ("role", "path"), [(Role.radiographer, "/referrals"), (Role.radiologist, "/booking")]
)
def test_a_role_without_the_right_gets_the_403_page(
    page: Page, sign_in, role: Role, path: str
) -> None:
    sign_in(page, role)
    response = page.goto(path)
    assert response is not None and response.status == 403
    expect(page.get_by_role("heading", level=1)).to_have_text("Ingen adgang")


def test_clerk_types_in_a_referral_and_lands_on_booking(
    page: Page, sign_in, ctx: Context, screenshot, check_a11y
) -> None:
    cpr = new_patient(ctx, family_name="Curie")
    sign_in(page, Role.booking_clerk, f"/patients/{cpr}")
    page.get_by_role("link", name="Ny henvisning").click()
    expect(page.get_by_label("CPR-nummer")).to_have_value(cpr)
    page.get_by_label("Henvisende enhed").fill("Egen læge")
    page.get_by_label("Klinisk spørgsmål").fill("Knude i bryst?")
    page.get_by_label("Prioritet").select_option("cancer-pathway")
    page.get_by_label("Undersøgelser").select_option(["UXCC00"])
    check_a11y(page)
    screenshot(page, "new-referral")
    page.get_by_role("button", name="Modtag henvisning").click()
    expect(page.get_by_role("status")).to_contain_text("Henvisningen er modtaget")
    expect(page).to_have_url(re.compile(r"/booking/"))
