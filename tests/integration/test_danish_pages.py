"""Every page and every service error reads in Danish (issue 23): none of the English that leaked.

On a small demo region each role follows every link from its start page (GET only, a
couple of pages of each shape) and each page's text is searched for the English that
once reached the screens: service reasons, event kinds, state names, UTC, a raw message
id. Every message of the catalogue is rendered through ``error_text`` as each error
class, searched the same way.
"""

from __future__ import annotations

import html
import io
import re
from collections import Counter
from collections.abc import Iterator
from string import Formatter
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient
from rich.console import Console
from sqlalchemy import func, select
from starlette.requests import Request

from lysbord.app import create_app
from lysbord.demo import build_demo
from lysbord.domain import errors
from lysbord.domain.access import Role
from lysbord.domain.errors import LysbordError, Msg
from lysbord.services.core.context import Context
from lysbord.store.models import Event, PatientIdentifier, Referral
from lysbord.web import messages
from lysbord.web.pages.shared import error_text
from tests.integration.test_demo import SHORT
from tests.web_fixtures import signed_in

#: English that reached Danish pages before (issue 23), and the internal names of things.
LEAKED = re.compile(
    r"\b(does not exist|already|needs?|not found|invalid|must|cannot|UTC|requested|booked"
    r"|in-progress|no-show|on-hold|reported|cancelled|discontinued|completed|awaiting|ended"
    r"|every procedure|all procedures|no such)\b"
    r"|\b(procedure|referral|report|patient|study|appointment|mpps|event|state|priority"
    r"|queue|err|reason|status)\.[a-z]",
    re.IGNORECASE,
)
#: Not screens: images, the API, the viewer, the language switch, files.
SKIP = ("/static", "/viewer", "/api", "/dicomweb", "/lang", "/logout", "/wado")
HREF = re.compile(r'href="(/[^"#]*)"')
PER_SHAPE = 2
TAGS = re.compile(r"<(script|style)\b.*?</\1>|<[^>]+>", re.DOTALL)


@pytest.fixture(name="demo")
def demo_fixture(bare_ctx: Context) -> Context:
    build_demo(bare_ctx, scale=0.02, seed=3, console=Console(file=io.StringIO()), **SHORT)
    return bare_ctx


def _text(page: str) -> str:
    return html.unescape(TAGS.sub(" ", page))


def _shape(path: str) -> str:
    """``/patients/123?day=2026-01-01`` and ``/patients/456?day=...`` are one shape."""
    parts = urlsplit(path)
    keys = sorted(k.split("=")[0] for k in parts.query.split("&") if k)
    return re.sub(r"[0-9A-Z]{2,}[0-9][0-9A-Z-]*|\d+", "N", parts.path) + "?" + "&".join(keys)


def _pages(client: TestClient, also: list[str]) -> Iterator[tuple[str, str]]:
    """``also`` and every screen reachable by links from ``/``, a couple of each shape."""
    seen: set[str] = set()
    shapes: Counter[str] = Counter()
    todo = [*also, "/"]
    while todo:
        path = todo.pop(0)
        limited = path.startswith(SKIP) or shapes[_shape(path)] >= PER_SHAPE
        if path in seen or (limited and path not in also):
            continue
        seen.add(path)
        shapes[_shape(path)] += 1
        response = client.get(path)
        assert response.status_code in (200, 403, 404), (path, response.status_code)
        yield path, response.text
        todo.extend(html.unescape(h) for h in HREF.findall(response.text))


def _one_patient_per_event_kind(ctx: Context) -> list[str]:
    """A patient's page for every kind of event and every closing reason the demo made."""
    owner = func.coalesce(Event.patient_id, Referral.patient_id)
    by_kind = (
        select(func.min(owner))
        .select_from(Event)
        .outerjoin(Referral, Referral.id == Event.referral_id)
        .group_by(Event.kind, Event.reason.is_(None))
    )
    by_reason = select(func.min(Referral.patient_id)).group_by(Referral.close_reason)
    with ctx.uow(readonly=True) as uow:
        ids = set(uow.session.scalars(by_kind.union(by_reason)))
        numbers = select(func.min(PatientIdentifier.value)).where(
            PatientIdentifier.patient_id.in_(ids - {None})
        )
        cprs = uow.session.scalars(numbers.group_by(PatientIdentifier.patient_id)).all()
    return [f"/patients/{cpr}" for cpr in sorted(cprs)]


def _raw_msgids() -> list[str]:
    """Message ids long enough that finding one on a page means it was not translated."""
    return [m for m in messages.translations("da") if len(m) > 15 and "{" not in m]


def _leaks(text: str) -> list[str]:
    found = [m.group(0) for m in LEAKED.finditer(text)]
    return found + [m for m in _raw_msgids() if m in text]


@pytest.mark.slow
def test_every_page_of_every_role_reads_danish(demo: Context) -> None:
    leaked: dict[str, list[str]] = {}
    visited = 0
    every_kind = _one_patient_per_event_kind(demo)
    for role in Role:
        with TestClient(create_app(demo)) as client:
            signed_in(client, demo, role)
            also = every_kind if role is Role.booking_clerk else []
            for path, page in _pages(client, also):
                visited += 1
                assert 'lang="da"' in page, path
                found = _leaks(_text(page))
                if found:
                    leaked[f"{role.value} {path}"] = sorted(set(found))
    assert visited > 60  # the crawl reached the screens, not just the start page
    assert leaked == {}


def _classes(base: type[LysbordError]) -> Iterator[type[LysbordError]]:
    yield base
    for sub in base.__subclasses__():
        yield from _classes(sub)


def _sample(msgid: str) -> Msg:
    """The message with a number for every parameter (the text around them is what matters)."""
    names = {name for _, name, _, _ in Formatter().parse(msgid) if name}
    return Msg(msgid, **dict.fromkeys(names, 7))


def test_every_error_reads_danish_through_error_text() -> None:
    request = Request({"type": "http", "headers": [], "method": "GET", "path": "/"})
    plain = (LysbordError.__init__, errors.IllegalTransition.__init__)
    kinds = {c for c in _classes(LysbordError) if c.__init__ in plain}
    leaked = {}
    for msgid in messages.translations("da"):
        for kind in kinds:
            shown = error_text(request, kind(_sample(msgid), field="x"))
            if _leaks(shown) or msgid in shown:
                leaked[f"{kind.__name__}: {msgid}"] = shown
    assert leaked == {}
