"""The status page in Chromium: doors, queues and the last check; accessible."""

from __future__ import annotations

from playwright.sync_api import expect

from lysbord.domain.access import Role
from lysbord.services.operations.check import Finding
from lysbord.services.operations.status import record_check


def test_status_page_shows_doors_queues_and_the_last_check(
    page, sign_in, ctx, screenshot, check_a11y
):
    record_check(
        ctx, [Finding("every open referral has one queue", 0, [])], skipped_blobs=True, actor="cli"
    )
    sign_in(page, Role.manager, "/status")
    expect(page.get_by_role("heading", level=1)).to_have_text("Systemstatus")
    doors = page.get_by_role("table", name="Indgange")
    expect(doors.get_by_role("row", name="HTTP (web og REST API)")).to_contain_text("Kører")
    expect(doors.get_by_role("row", name="DICOM")).to_contain_text("Nede")  # no door in this test
    expect(page.get_by_role("table", name="Køer")).to_contain_text("Udgående beskeder")
    expect(page.get_by_text("Alle 1 regler holder")).to_be_visible()
    screenshot(page, "status")
    check_a11y(page)
