"""The start page: each role's own work, every count a link to the list behind it; both backends.

The clerk's waiting referrals and next deadlines, the radiographer's rooms today (theirs
first), the radiologist's cases by priority, the overdue counts of the coordinator and
the manager, the administrator's users; and a page whose statements do not grow with
the queues.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event

from lysbord.app import create_app
from lysbord.domain.access import Role
from lysbord.domain.calendar import local_date
from lysbord.domain.priorities import Priority
from lysbord.services.core.context import Context
from lysbord.services.pathway import booking, procedures, roster
from lysbord.services.pathway.booking import SlotSearch
from lysbord.services.pathway.procedures import Action
from lysbord.services.pathway.views import ReferralView
from lysbord.web import queries_home
from tests.conftest import Clock
from tests.helpers import new_patient, new_referral
from tests.web_fixtures import signed_in

R = Role


@pytest.fixture(name="web")
def web_fixture(ctx: Context) -> Iterator[TestClient]:
    with TestClient(create_app(ctx)) as client:
        yield client


def section(page: str, name: str) -> str:
    found = re.search(rf'<section class="card" id="work-{name}".*?</section>', page, re.S)
    assert found, f"no {name} section"
    return found.group(0)


def booked_today(ctx: Context, clock: Clock, ref: ReferralView, room: str = "AAA") -> str:
    """Book the referral's first procedure at the earliest time, and make that day today."""
    acc = ref.procedures[0].accession
    offer = booking.find_slots(ctx, SlotSearch(acc, sites=[room], limit=1))[0]
    booking.book(ctx, acc, offer.slot_id, "clerk")
    clock.at = max(clock.at, offer.start_at - timedelta(hours=1))
    return acc


def reported_pending(ctx: Context, priority: Priority) -> str:
    """A performed procedure awaiting its report."""
    ref = new_referral(ctx, priority=priority)
    acc = ref.procedures[0].accession
    offer = booking.find_slots(ctx, SlotSearch(acc, limit=1))[0]
    booking.book(ctx, acc, offer.slot_id, "clerk")
    for action in (Action.ARRIVE, Action.START, Action.COMPLETE):
        procedures.act(ctx, acc, action, "radiographer")
    return acc


def test_the_clerk_sees_what_awaits_booking_and_the_soonest_deadlines(
    web: TestClient, ctx: Context, clock: Clock
) -> None:
    late = new_referral(ctx, new_patient(ctx, family_name="Andersen"), codes=("UXCC00", "UXUD00"))
    clock.advance(days=50)
    urgent = new_referral(ctx, new_patient(ctx, family_name="Bohr"), priority=Priority.URGENT)
    new_referral(ctx)
    signed_in(web, ctx, R.booking_clerk)
    page = web.get("/").text
    work = section(page, "booking")
    assert '<span class="count">3</span>' in work
    assert "1 over fristen" in work
    assert "/tracker/list?queue=awaiting-booking&amp;flag=overdue" in work
    assert "/referrals?priority=urgent" in work and "/referrals?priority=routine" in work
    links = re.findall(r'href="/booking/([^"]+)"', work)
    assert links[:2] == [late.procedures[0].accession, urgent.procedures[0].accession]
    assert len(links) == 3  # a referral once, by its first procedure awaiting booking
    assert "dage over fristen" in work
    for other in ("rooms", "reading", "overdue", "users"):
        assert f'id="work-{other}"' not in page


def test_the_radiographer_sees_today_s_rooms_theirs_first(
    web: TestClient, ctx: Context, clock: Clock
) -> None:
    username = signed_in(web, ctx, R.radiographer)
    booked_today(ctx, clock, new_referral(ctx), "BBB")
    mine = [booked_today(ctx, clock, new_referral(ctx), "AAA") for _ in range(2)]
    procedures.act(ctx, mine[0], Action.ARRIVE, username)
    procedures.act(ctx, mine[0], Action.START, username)
    rooms = queries_home.rooms_today(ctx, username)
    assert rooms[0].mine and not any(r.mine for r in rooms[1:])
    assert (rooms[0].waiting, rooms[0].in_progress, rooms[0].done) == (1, 1, 0)
    work = section(web.get("/").text, "rooms")
    first_room = re.findall(r'href="/rooms/([A-Z0-9]+)"', work)[0]
    assert first_room == rooms[0].ae_title and first_room.startswith("AAA")
    assert "Dit rum i dag" in work and "Andre rum med patienter i dag (1)</summary>" in work
    assert "Alfa Hospital (AAA)" in work and "Beta Hospital (BBB)" in work


def test_the_radiographer_s_rostered_room_is_theirs_before_they_touch_it(
    web: TestClient, ctx: Context, clock: Clock
) -> None:
    username = signed_in(web, ctx, R.radiographer)
    booked_today(ctx, clock, new_referral(ctx), "AAA")
    acc = booked_today(ctx, clock, new_referral(ctx), "BBB")
    room = procedures.get_procedure(ctx, acc).procedure.appointment
    assert room is not None
    roster.add_to_roster(ctx, room.ae_title, local_date(clock.at), username, "admin")
    rooms = queries_home.rooms_today(ctx, username)
    assert [r.ae_title for r in rooms if r.mine] == [room.ae_title]
    assert rooms[0].ae_title == room.ae_title


def test_the_radiologist_sees_cases_by_priority_the_most_urgent_first(
    web: TestClient, ctx: Context
) -> None:
    routine = reported_pending(ctx, Priority.ROUTINE)
    acute = reported_pending(ctx, Priority.ACUTE)
    reported_pending(ctx, Priority.ROUTINE)
    signed_in(web, ctx, R.radiologist)
    work = section(web.get("/").text, "reading")
    assert '<span class="count">3</span>' in work
    assert "Akut: 1" in work and "Rutine: 2" in work
    assert 'href="/reading?priority=acute"' in work
    assert work.index("Akut: 1") < work.index("Rutine: 2")
    links = re.findall(r'href="/reading/([^"]+)"', work)
    assert links[:2] == [acute, routine]


@pytest.mark.parametrize("role", [R.screening_coordinator, R.manager])
def test_the_coordinator_and_the_manager_see_what_is_overdue_and_open_it(
    web: TestClient, ctx: Context, clock: Clock, role: Role
) -> None:
    new_referral(ctx, priority=Priority.URGENT)
    new_referral(ctx)
    clock.advance(days=40)
    new_referral(ctx)
    signed_in(web, ctx, role)
    work = section(web.get("/").text, "overdue")
    assert re.search(r'href="/tracker/list\?flag=overdue"><span class="count">2</span>', work)
    assert "/tracker/list?flag=overdue&amp;priority=urgent" in work
    listing = web.get("/tracker/list", params={"flag": "overdue", "priority": "urgent"})
    assert listing.status_code == 200 and "Viser 1–1 af 1" in listing.text
    for flag in ("booked_after_deadline", "notify_overdue"):
        assert f'href="/tracker/list?flag={flag}"' in work


def test_the_administrator_sees_the_users(web: TestClient, ctx: Context) -> None:
    signed_in(web, ctx, R.admin)
    signed_in(TestClient(create_app(ctx)), ctx, R.radiologist)
    work = section(web.get("/").text, "users")
    assert '<span class="count">2</span>' in work and "Radiolog" in work and 'href="/users"' in work


def test_the_start_page_s_statements_do_not_grow_with_the_queues(
    web: TestClient, ctx: Context, clock: Clock
) -> None:
    """Every role at once (a user with all roles): the same statements for 2 as for 12."""
    signed_in(web, ctx, *Role)
    statements: list[Any] = []
    event.listen(ctx.db.engine, "before_cursor_execute", lambda *a: statements.append(a[2]))

    def count() -> int:
        statements.clear()
        assert web.get("/").status_code == 200
        return len(statements)

    for priority in (Priority.URGENT, Priority.ROUTINE):
        reported_pending(ctx, priority)
        new_referral(ctx, priority=priority)
    few = count()
    for _ in range(5):
        reported_pending(ctx, Priority.ROUTINE)
        booked_today(ctx, clock, new_referral(ctx))
    assert count() == few <= 25
