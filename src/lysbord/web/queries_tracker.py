"""The tracker's lists: the open referrals behind one count or flag of the board.

Filtered, counted, sorted and paged in SQL over ``services.pathway.tracker_sql.placed``
(the board's own statement), so a list always holds what its count says; the views are
built for the page only. Every order ends on the deadline and the referral's id, so a
page boundary never moves between two requests of the same list.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, func, select

from lysbord.domain.tracking import Queue
from lysbord.services.core.context import Context
from lysbord.services.pathway.tracker import UNASSIGNED
from lysbord.services.pathway.tracker_sql import bind, placed, prefer_index_lookups, stage_of
from lysbord.services.pathway.views import ReferralView, referral_views
from lysbord.store.models import Patient, Referral, Site
from lysbord.web.queries_work import priority_rank

#: The board's flags, each the name of a 1/0 column of ``placed``.
FLAGS = ("overdue", "booked_after_deadline", "notify_overdue")
#: The columns a list sorts by.
SORTS = ("due", "priority", "name", "queue", "site")
PAGE_SIZES = (25, 50, 100)


@dataclass(frozen=True, slots=True)
class Choice:
    """Which referrals, in which order, which page. Values are checked by the page."""

    queue: str | None = None  # a Queue value, "none" (a broken invariant), None: every queue
    site: str | None = None  # a site code, or UNASSIGNED
    flag: str | None = None  # one of FLAGS
    priority: str | None = None
    sort: str = "due"
    descending: bool = False
    size: int = PAGE_SIZES[1]
    offset: int = 0


@dataclass(frozen=True, slots=True)
class Row:
    referral: ReferralView
    site: str | None  # where the board counts it: the earliest open appointment's site


def listing(ctx: Context, choice: Choice) -> tuple[list[Row], int]:
    """One page of the chosen referrals and how many there are in all."""
    now = ctx.now()
    places = placed(overdue_only=choice.flag == "overdue").subquery()
    chosen = select(places.c.referral_id, places.c.site, func.count().over().label("total"))
    chosen = _narrowed(chosen, places.c, choice)
    chosen, keys = _sorted(chosen, places.c, choice.sort)
    direction = [k.desc().nulls_last() if choice.descending else k.asc().nulls_last() for k in keys]
    ordered = chosen.order_by(*direction, places.c.due_at, places.c.referral_id)
    with ctx.uow(readonly=True) as uow:
        s = uow.session
        prefer_index_lookups(s)
        params = bind(now)
        rows = s.execute(ordered.limit(choice.size).offset(choice.offset), params).all()
        if rows:  # the count over the whole list rides along on each row of the page
            total = rows[0].total
        else:
            total = s.scalar(select(func.count()).select_from(chosen.subquery()), params) or 0
        found = s.scalars(select(Referral).where(Referral.id.in_([r.referral_id for r in rows])))
        by_id = {r.id: r for r in found}
        views = referral_views(s, [by_id[r.referral_id] for r in rows], now)
        return [Row(view, row.site) for view, row in zip(views, rows, strict=True)], total


def _narrowed(chosen: Select[Any], c: Any, choice: Choice) -> Select[Any]:
    if choice.queue == "none":
        chosen = chosen.where(c.stage.is_(None))
    elif choice.queue is not None:
        chosen = chosen.where(c.stage == stage_of(Queue(choice.queue)))
    if choice.site == UNASSIGNED:
        chosen = chosen.where(c.site.is_(None))
    elif choice.site is not None:
        chosen = chosen.where(c.site == choice.site)
    if choice.flag in FLAGS and choice.flag != "overdue":  # overdue: placed() read only those
        chosen = chosen.where(c[choice.flag] == 1)
    if choice.priority is not None:
        chosen = chosen.where(c.priority == choice.priority)
    return chosen


def _sorted(chosen: Select[Any], c: Any, sort: str) -> tuple[Select[Any], list[ColumnElement[Any]]]:
    """The statement with what the sort needs joined, and the sort's keys."""
    if sort == "name":
        chosen = chosen.join(Patient, Patient.id == c.patient_id)
        return chosen, [Patient.family_name.expression, Patient.given_name.expression]
    if sort == "site":
        return chosen.outerjoin(Site, Site.code == c.site), [Site.name.expression]
    if sort == "priority":
        return chosen, [priority_rank(c.priority)]
    if sort == "queue":
        return chosen, [c.stage]
    return chosen, [c.due_at]
