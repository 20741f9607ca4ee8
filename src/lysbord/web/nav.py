"""The header's navigation: each screen, its label key and the roles that may use it.

A screen appears for a user who may read it (``CurrentUser.may(..., read=True)``) and
only once its route exists, so an entry can be listed before its page is built.
"""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import FastAPI
from starlette.routing import Match

from lysbord.domain.access import CurrentUser, Role

R = Role


@dataclass(frozen=True, slots=True)
class NavItem:
    path: str
    label: str  # catalog key
    roles: tuple[Role, ...]


NAV: tuple[NavItem, ...] = (
    NavItem(
        "/patients",
        "nav.patients",
        (R.booking_clerk, R.screening_coordinator, R.radiographer, R.radiologist),
    ),
    NavItem("/referrals", "nav.referrals", (R.booking_clerk, R.screening_coordinator)),
    NavItem("/booking", "nav.booking", (R.booking_clerk, R.screening_coordinator)),
    NavItem("/rooms", "nav.rooms", (R.radiographer,)),
    NavItem("/reading", "nav.reading", (R.radiologist,)),
    NavItem(
        "/acute",
        "nav.acute",
        (R.radiologist, R.booking_clerk, R.screening_coordinator, R.manager),
    ),
    NavItem("/unmatched", "nav.unmatched", (R.radiographer,)),
    NavItem("/tracker", "nav.tracker", (R.booking_clerk, R.screening_coordinator, R.manager)),
    NavItem("/status", "nav.status", (R.manager,)),
    # Users, report templates and the roster: one entry, so the menu stays one row.
    NavItem("/admin", "nav.admin", (R.admin,)),
)


def _routed(app: FastAPI, path: str) -> bool:
    scope = {"type": "http", "path": path, "method": "GET", "root_path": ""}
    return any(route.matches(scope)[0] is Match.FULL for route in app.router.routes)


def _paths(app: FastAPI) -> frozenset[str]:
    """The NAV paths that have a page in this app (worked out once per app)."""
    cached: frozenset[str] | None = getattr(app.state, "web_paths", None)
    if cached is None:
        cached = frozenset(item.path for item in NAV if _routed(app, item.path))
        app.state.web_paths = cached
    return cached


def visible(app: FastAPI, user: CurrentUser | None) -> list[NavItem]:
    if user is None:
        return []
    paths = _paths(app)
    return [i for i in NAV if i.path in paths and user.may(*i.roles, read=True)]
