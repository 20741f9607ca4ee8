"""The tracker's pages: every tile and count opens its list, lists sort and page, hospitals
read by name; both backends."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event

from lysbord.app import create_app
from lysbord.domain.access import Role
from lysbord.domain.priorities import Priority
from lysbord.services.core.context import Context
from lysbord.services.people import registration
from tests.conftest import Clock
from tests.helpers import new_patient, new_referral, random_cpr
from tests.integration.test_tracker import every_kind_of_referral
from tests.web_fixtures import signed_in

LINK = re.compile(r'href="(/tracker/list[^"]*)"')


@pytest.fixture(name="web")
def web_fixture(ctx: Context) -> Iterator[TestClient]:
    """Not signed in yet: a session ends when a test moves the clock days ahead."""
    with TestClient(create_app(ctx)) as client:
        yield client


def unescaped(url: str) -> str:
    return url.replace("&amp;", "&")


def shown(page: str) -> int:
    """The list's total as its caption says, 0 when it says the list is empty."""
    found = re.search(r"Viser \d+–\d+ af (\d+)", page)
    return int(found.group(1)) if found else 0


def test_every_tile_and_count_of_the_board_opens_as_many_referrals(
    web: TestClient, ctx: Context, clock: Clock
) -> None:
    every_kind_of_referral(ctx)
    clock.advance(days=11)
    signed_in(web, ctx, Role.manager)
    board = web.get("/tracker").text
    tile = r'<li class="card"><a href="([^"]+)"><span class="count">(\d+)</span>'
    tiles = re.findall(tile, board)
    assert [url for url, _ in tiles] == [
        "/tracker/list",
        "/tracker/list?flag=overdue",
        "/tracker/list?flag=booked_after_deadline",
        "/tracker/list?flag=notify_overdue",
    ]
    cells = re.findall(r'<a href="(/tracker/list\?queue=[^"]+)">(\d+)</a>', board)
    assert len(cells) > 5
    for url, n in [*tiles, *cells]:
        page = web.get(unescaped(url))
        assert page.status_code == 200, url
        assert shown(page.text) == int(n), url


def test_an_overdue_list_says_how_many_days_over(
    web: TestClient, ctx: Context, clock: Clock
) -> None:
    new_referral(ctx, priority=Priority.URGENT)
    clock.advance(days=10)
    signed_in(web, ctx, Role.manager)
    page = web.get("/tracker/list", params={"flag": "overdue"}).text
    assert re.search(r'<td class="days-over">\s*\d+ dage over fristen', page)
    assert "dage over fristen" in web.get("/tracker").text
    before_flags = web.get("/tracker/list", params={"overdue": "true"}).text
    assert re.search(r'<td class="days-over">', before_flags)


def test_a_list_sorts_by_a_header_keeps_the_order_across_pages_and_the_page_size(
    web: TestClient, ctx: Context
) -> None:
    for family in ("Curie", "Andersen", "Bohr", "Dirac", "Einstein", "Fermi"):
        new_referral(ctx, new_patient(ctx, family_name=family, given_name="Eva"))
    signed_in(web, ctx, Role.manager)
    page = web.get("/tracker/list", params={"size": "25"}).text
    assert re.search(r'<th scope="col" aria-sort="ascending"><a [^>]*>Frist', page)
    by_name = next(u for u in LINK.findall(page) if "sort=name" in u)
    assert "order=asc" in by_name and "size=25" in by_name
    up = web.get(unescaped(by_name)).text
    assert re.search(r'aria-sort="ascending"><a [^>]*>Navn', up)
    names = re.findall(r">(\w+), Eva</a>", up)
    assert names == sorted(names) and len(names) == 6
    down_link = next(u for u in LINK.findall(up) if "sort=name" in u)
    assert "order=desc" in down_link
    down = web.get(unescaped(down_link)).text
    assert re.search(r'aria-sort="descending"><a [^>]*>Navn', down)
    assert re.findall(r">(\w+), Eva</a>", down) == names[::-1]
    params = {"sort": "name", "order": "desc", "size": "25", "offset": "3"}
    second = web.get("/tracker/list", params=params).text
    assert re.findall(r">(\w+), Eva</a>", second) == names[::-1][3:]
    previous = next(u for u in LINK.findall(second) if "offset=0" in u)
    assert "sort=name" in previous and "order=desc" in previous and "size=25" in previous
    assert 'name="size"' in second and '<input type="hidden" name="sort" value="name">' in second


@pytest.mark.parametrize(
    ("field", "value", "said"),
    [
        ("flag", "late", "markeringen «late»"),
        ("sort", "age", "sorteringen «age»"),
        ("order", "up", "rækkefølgen «up»"),
        ("size", "7", "sidestørrelsen «7»"),
        ("priority", "soon", "prioriteten «soon»"),
        ("queue", "nowhere", "køen «nowhere»"),
    ],
)
def test_an_unknown_value_is_a_danish_422_naming_it(
    web: TestClient, ctx: Context, field: str, value: str, said: str
) -> None:
    signed_in(web, ctx, Role.manager)
    page = web.get("/tracker/list", params={field: value})
    assert page.status_code == 422
    assert f"Listen kender ikke {said}. Mulige værdier:" in page.text
    assert 'role="alert"' in page.text


def test_hospitals_read_by_name_with_the_code_beside(
    web: TestClient, ctx: Context, clock: Clock
) -> None:
    cpr = random_cpr()
    registration.register_patient(ctx, registration.NewPatient(cpr, "Bohr", "Niels", "BBB"), "t")
    ref = new_referral(ctx, cpr, preferred_site="AAA")
    clock.advance(days=40)
    signed_in(web, ctx, Role.manager)
    board = web.get("/tracker").text
    assert '<th scope="row">Alfa Hospital (AAA)</th>' in board
    assert "<td>Alfa Hospital (AAA)</td>" in board  # the overdue list
    listing = web.get("/tracker/list", params={"site": "AAA"}).text
    assert "· Alfa Hospital (AAA)</h1>" in listing and "<td>Alfa Hospital (AAA)</td>" in listing
    clerk = TestClient(create_app(ctx))
    signed_in(clerk, ctx, Role.booking_clerk)
    assert "· Alfa Hospital (AAA)</span>" in clerk.get("/referrals").text
    acc = ref.procedures[0].accession
    assert "Foretrukket hospital: Alfa Hospital (AAA)" in clerk.get(f"/booking/{acc}").text
    assert "Beta Hospital (BBB)" in clerk.get(f"/patients/{ref.cpr}").text


def test_the_site_names_are_read_once_per_page(web: TestClient, ctx: Context) -> None:
    for _ in range(3):
        new_referral(ctx, preferred_site="AAA")
        new_referral(ctx, preferred_site="BBB")
    signed_in(web, ctx, Role.manager)
    statements: list[str] = []
    event.listen(ctx.db.engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    assert web.get("/tracker/list").status_code == 200
    assert sum("FROM sites" in s and "sites.name" in s for s in statements) == 1
