"""Hospitals by name with the code beside: the ``site`` filter every page uses.

The lists carry site codes (the board's rows, a referral's preferred site, a study's
origin); staff know the hospitals by name. The region's sites are read once per request,
on the first code a page shows (one small query, never one per row), and kept on
``request.state``: a site added by an administrator shows by name on the next page.
"""

from __future__ import annotations

from typing import Any

from fastapi import Request
from jinja2 import pass_context
from jinja2.runtime import Context as TemplateContext
from sqlalchemy import select

from lysbord.http.context import get_context
from lysbord.store.models import Site


def site_names(request: Request) -> dict[str, str]:
    """Every site's name by its code, read at most once per request."""
    cached: dict[str, str] | None = getattr(request.state, "site_names", None)
    if cached is None:
        with get_context(request).uow(readonly=True) as uow:
            cached = dict(uow.session.execute(select(Site.code, Site.name)).tuples().all())
        request.state.site_names = cached
    return cached


def label(names: dict[str, str], code: str | None) -> str:
    """``Rigshospitalet (RH)``; an unknown code as it is, none as empty."""
    if not code:
        return ""
    name = names.get(code)
    return f"{name} ({code})" if name else code


@pass_context
def site(context: TemplateContext, code: Any) -> str:
    """The Jinja filter: ``{{ r.preferred_site|site }}``."""
    return label(site_names(context["request"]), code)
