"""The room roster (issue 23): an administrator rosters radiographers on rooms per day; on
a day with a roster, a start by someone not rostered on the room is warned in Danish and
allowed only with a reason, kept on the event; the API answers 409 naming ``reason``."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import pytest
from fastapi.testclient import TestClient

from lysbord.app import create_app
from lysbord.domain.access import Role
from lysbord.domain.calendar import local_date
from lysbord.domain.errors import Conflict, InvalidValue, NotFound
from lysbord.services.core.context import Context
from lysbord.services.pathway import procedures, roster
from lysbord.services.pathway.procedures import Action
from tests.integration.api_fixtures import ok, problem
from tests.integration.test_room_screen import ROOM, act, booked
from tests.web_fixtures import bearer, sign_in, user_for

AE = ROOM.rsplit("/", 1)[1]


def arrived(ctx: Context) -> tuple[str, str]:
    """A CT booked into the roster's room and arrived: its accession and day (YYYY-MM-DD)."""
    accession, _, at = booked(ctx)
    procedures.apply(ctx, accession, Action.ARRIVE, "porter")
    return accession, at.date().isoformat()


def today(ctx: Context) -> date:
    return local_date(ctx.now())


def test_only_an_active_radiographer_is_rostered_once_per_room_and_day(ctx: Context) -> None:
    radiographer, _ = user_for(ctx, Role.radiographer)
    clerk, _ = user_for(ctx, Role.booking_clerk)
    entry = roster.add_to_roster(ctx, AE, today(ctx), radiographer, "admin")
    [listed] = roster.list_roster(ctx, today(ctx))
    assert (listed.id, listed.username, listed.ae_title) == (entry, radiographer, AE)
    with pytest.raises(Conflict):
        roster.add_to_roster(ctx, AE, today(ctx), radiographer, "admin")
    with pytest.raises(InvalidValue) as not_one:
        roster.add_to_roster(ctx, AE, today(ctx), clerk, "admin")
    assert not_one.value.field == "username"
    with pytest.raises(NotFound) as no_room:
        roster.add_to_roster(ctx, "NOSUCHAE", today(ctx), radiographer, "admin")
    assert no_room.value.field == "room"
    roster.remove_from_roster(ctx, entry, "admin")
    assert roster.list_roster(ctx, today(ctx)) == []


def test_the_api_wants_a_reason_from_someone_off_the_roster(ctx: Context) -> None:
    on_duty, _ = user_for(ctx, Role.radiographer)
    roster.add_to_roster(ctx, AE, today(ctx), on_duty, "admin")
    first, second = arrived(ctx)[0], arrived(ctx)[0]
    with TestClient(create_app(ctx)) as client:
        off = bearer(ctx, Role.radiographer)
        start = f"/api/v1/procedures/{first}/start"
        problem(client.post(start, headers=off), 409, "reason")
        started = ok(client.post(start, json={"reason": "kollega syg"}, headers=off))
        assert started["procedure"]["state"] == "in-progress"
        assert started["events"][-1]["reason"] == "kollega syg"
        rostered = bearer(ctx, Role.radiographer, username=on_duty + ".api")
        roster.add_to_roster(ctx, AE, today(ctx), on_duty + ".api", "admin")
        ok(client.post(f"/api/v1/procedures/{second}/start", headers=rostered))


def test_a_day_without_a_roster_is_not_checked(ctx: Context) -> None:
    accession, _ = arrived(ctx)
    with TestClient(create_app(ctx)) as client:
        url = f"/api/v1/procedures/{accession}/start"
        ok(client.post(url, headers=bearer(ctx, Role.radiographer)))


@pytest.fixture(name="web")
def web_fixture(ctx: Context) -> Iterator[TestClient]:
    with TestClient(create_app(ctx)) as client:
        yield client


def test_the_room_screen_warns_and_asks_for_a_reason(web: TestClient, ctx: Context) -> None:
    on_duty, _ = user_for(ctx, Role.radiographer)
    roster.add_to_roster(ctx, AE, today(ctx), on_duty, "admin")
    sign_in(web, *user_for(ctx, Role.radiographer))
    accession, day = arrived(ctx)
    page = web.get(ROOM, params={"day": today(ctx).isoformat()}).text
    assert "Du står ikke på vagtplanen for dette rum" in page and on_duty in page
    refused = act(web, accession, "start", day)
    assert refused.status_code == 409 and "skriv en begrundelse" in refused.text
    assert procedures.get_procedure(ctx, accession).procedure.state == "arrived"
    assert act(web, accession, "start", day, reason="Dækker for kollega").status_code == 303
    detail = procedures.get_procedure(ctx, accession)
    assert detail.procedure.state == "in-progress"
    assert detail.events[-1].reason == "Dækker for kollega"


def test_the_rostered_radiographer_starts_without_a_word(web: TestClient, ctx: Context) -> None:
    name, password = user_for(ctx, Role.radiographer)
    roster.add_to_roster(ctx, AE, today(ctx), name, "admin")
    sign_in(web, name, password)
    accession, day = arrived(ctx)
    assert "vagtplanen" not in web.get(ROOM, params={"day": today(ctx).isoformat()}).text
    assert act(web, accession, "start", day).status_code == 303
