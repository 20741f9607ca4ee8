"""One referral through every role's working day in Chromium, with real DICOM and HL7 doors.

The patient has a CT thorax from Beta Hospital, examined and signed last year, and a new
urgent referral. The manager sees it open on the tracker; the booking clerk books it at
Alfa from the start page; the radiographer runs the examination on Alfa's CT 1 while DCMTK's
``storescu`` sends its images to the DICOM door; the radiologist opens the case from the
reading list, reads the Beta prior with its report, writes and signs; the ORU leaves
through the outbox to an MLLP receiver; the tracker no longer counts the referral.
axe-core checks every page on the way.

The radiologist writes from the administrator's template for the procedure's code.
Each role's part is a step function of its own, so another way in is one more step in
``test_one_referral_through_the_day``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from lysbord.dicom.server import DicomDoor
from lysbord.domain.access import Role
from lysbord.domain.calendar import local_date
from lysbord.domain.priorities import Priority
from lysbord.hl7.worker import DeliveryWorker
from lysbord.services.core.context import Context
from lysbord.services.pathway import booking, procedures, report_templates, reports
from lysbord.services.pathway.booking import SlotSearch
from lysbord.services.pathway.procedures import Action
from lysbord.services.pathway.report_templates import TemplateCommand
from lysbord.store.outbox_models import OutboxMessage
from tests.dicomdata import ct_series
from tests.helpers import new_patient, new_referral
from tests.hl7_out.conftest import drain, ehr, receiver, routed
from tests.hl7_out.receiver import Receiver, field
from tests.integration.test_reconcile import send
from tests.interop.conftest import dcmtk, door, fast_paths

__all__ = ["door", "fast_paths", "receiver"]  # the DICOM and HL7 test doors' fixtures

IMAGES = 3
PRIOR_TEXT = "Lille nodulus i højre overlap, kontrol om et år."
FINDINGS = "Uændret nodulus i højre overlap sammenlignet med Beta 01.03.2025."
TEMPLATE = "{{procedure}} ({{indication}}):"
CheckA11y = Callable[[Page], None]


@dataclass(frozen=True, slots=True)
class Case:
    """The patient of the day, the referral's procedure, the Beta prior's accession, and
    the report's start as the template fills it for this procedure."""

    cpr: str
    name: str
    accession: str
    study_uid: str
    prior: str
    report_start: str


@dataclass(frozen=True, slots=True)
class Desk:
    """The one screen the roles take turns at, signing in through the real form."""

    page: Page
    sign_in: Callable[..., None]
    check_a11y: CheckA11y

    def open(self, role: Role, path: str) -> Page:
        """The next person: the last one's session gone, signed in, at ``path``, axe clean."""
        self.page.context.clear_cookies()
        self.sign_in(self.page, role, path)
        self.page.goto(path)
        self.check_a11y(self.page)
        return self.page


@pytest.fixture
def ctx(ctx: Context, receiver: Receiver) -> Context:
    """The small region whose reports' ORU messages go to a test MLLP receiver."""
    return routed(ctx, ehr(receiver.port, "ORU"))


@pytest.fixture
def case(ctx: Context) -> Case:
    """A CT thorax examined and signed at Beta last year, and today's urgent referral."""
    cpr = new_patient(ctx, family_name="Blixen", given_name="Karen")
    prior = new_referral(ctx, cpr).procedures[0].accession
    offer = booking.find_slots(ctx, SlotSearch(prior, sites=["BBB"], limit=1))[0]
    booking.book(ctx, prior, offer.slot_id, "booking.beta")
    for action in (Action.ARRIVE, Action.START, Action.COMPLETE):
        procedures.apply(ctx, prior, action, "radiograf.beta")
    send(ctx, patient_id=cpr, accession=prior, study_date="20250301", ae="BBBCT1")
    reports.write_report(ctx, prior, text=PRIOR_TEXT, author="overlæge.beta", final=True)
    today = new_referral(ctx, cpr, priority=Priority.URGENT).procedures[0]
    template = TemplateCommand("Kontrol af nodulus", TEMPLATE, (today.code,))
    made = report_templates.create_template(ctx, template, "admin")
    start = f"{today.name} (Mistanke om lungecancer):"
    assert report_templates.filled(ctx, made.id, today.accession) == start
    return Case(cpr, "Blixen, Karen", today.accession, today.study_uid, prior, start)


def manager_sees_open(desk: Desk, case: Case, count: int) -> None:
    """The tracker's open count, and whether the patient is in the list behind it."""
    page = desk.open(Role.manager, "/tracker")
    expect(page.locator(".cards .count").first).to_have_text(str(count))
    page.get_by_role("link", name="Åbne henvisninger").click()
    desk.check_a11y(page)
    expect(page.get_by_role("link", name=case.name)).to_have_count(count)


def clerk_books_from_the_start_page(desk: Desk, case: Case) -> None:
    """The referral is among the soonest deadlines on the clerk's start page."""
    page = desk.open(Role.booking_clerk, "/")
    page.locator(f'#work-booking a[href="/booking/{case.accession}"]').click()
    desk.check_a11y(page)
    page.get_by_label("Hospital").select_option("AAA")
    page.get_by_role("button", name="Vis tider").click()
    page.get_by_role("button", name="Book den valgte tid").click()
    expect(page.get_by_role("status")).to_have_text("Tiden er booket.")
    expect(page.locator("#current-time")).to_contain_text("Alfa Hospital")
    desk.check_a11y(page)


def radiographer_examines(desk: Desk, ctx: Context, case: Case, door: DicomDoor, tmp: Path) -> None:
    """Arrive, start, the scanner's images by C-STORE, complete with the count expected."""
    appointment = procedures.get_procedure(ctx, case.accession).procedure.appointment
    assert appointment is not None
    day = local_date(appointment.start_at).isoformat()
    page = desk.open(Role.radiographer, f"/rooms/{appointment.ae_title}?day={day}")
    row = page.locator(f"#row-{case.accession}")
    row.get_by_role("button", name="Ankommet").click()
    expect(row.locator(".state")).to_have_text("Ankommet")
    row.get_by_role("button", name="Start undersøgelse").click()
    expect(page.get_by_role("status")).to_have_text("Undersøgelsen er startet.")
    files = ct_series(
        tmp, IMAGES, patient_id=case.cpr, accession=case.accession, study_uid=case.study_uid
    )
    scanner = ("-aet", appointment.ae_title, "-aec", "LYSBORD", "127.0.0.1", str(door.port))
    sent = dcmtk("storescu", *scanner, *map(str, files))
    assert sent.returncode == 0, sent.stdout + sent.stderr
    row.get_by_label("Forventede billeder").fill(str(IMAGES))
    row.get_by_role("button", name="Afslut").click()
    expect(page.get_by_role("status")).to_have_text("Undersøgelsen er afsluttet.")
    expect(row.locator(".images")).to_contain_text(f"{IMAGES} af {IMAGES}")
    desk.check_a11y(page)


def radiologist_reads_with_the_prior_and_signs(desk: Desk, case: Case) -> None:
    page = desk.open(Role.radiologist, "/reading")
    page.get_by_role("link", name=f"Beskriv {case.accession}").click()
    expect(page.get_by_role("heading", name="Tidligere undersøgelser (1)")).to_be_visible()
    prior = page.locator(".priors li")
    expect(prior).to_contain_text("01.03.2025")
    expect(prior).to_contain_text(f"Beta Hospital (BBB), {case.prior}")
    prior.get_by_text("Underskrevet af overlæge.beta").click()
    expect(prior.locator(".report-text")).to_have_text(PRIOR_TEXT)
    desk.check_a11y(page)
    page.get_by_role("link", name="Brug «Kontrol af nodulus»").click()
    box = page.get_by_label("Beskrivelse", exact=True)
    expect(box).to_have_value(case.report_start)
    box.press("End")
    box.press_sequentially(f" {FINDINGS}")
    page.get_by_role("button", name="Underskriv (endelig)").click()
    expect(page.get_by_role("status")).to_contain_text("underskrevet")
    desk.check_a11y(page)


def oru_leaves_through_the_outbox(ctx: Context, case: Case, receiver: Receiver) -> None:
    """The signed report's ORU^R01 is queued, then sent and acknowledged."""
    with ctx.uow(readonly=True) as uow:
        rows = uow.session.execute(
            select(OutboxMessage.payload, OutboxMessage.status).where(
                OutboxMessage.message_type == "ORU^R01"
            )
        ).all()
    ours = [status for payload, status in rows if payload["order"]["accession"] == case.accession]
    assert ours == ["pending"]
    worker = DeliveryWorker(ctx)
    drain(worker)
    worker.close_connections()
    sent = [m for m in receiver.messages if field(m, "OBR", 3).startswith(case.accession)]
    assert len(sent) == 1, receiver.messages
    assert field(sent[0], "OBX", 5) == f"{case.report_start} {FINDINGS}"
    assert field(sent[0], "OBR", 25) == "F"


def test_one_referral_through_the_day(
    page: Page,
    sign_in: Callable[..., None],
    check_a11y: CheckA11y,
    ctx: Context,
    case: Case,
    door: DicomDoor,
    receiver: Receiver,
    tmp_path: Path,
) -> None:
    desk = Desk(page, sign_in, check_a11y)
    manager_sees_open(desk, case, 1)
    clerk_books_from_the_start_page(desk, case)
    radiographer_examines(desk, ctx, case, door, tmp_path / "scanner")
    radiologist_reads_with_the_prior_and_signs(desk, case)
    oru_leaves_through_the_outbox(ctx, case, receiver)
    manager_sees_open(desk, case, 0)
