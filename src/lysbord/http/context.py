"""The service context a request works in: the one the app factory put on the app."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from lysbord.services.core.context import Context


def get_context(request: Request) -> Context:
    ctx: Context = request.app.state.ctx
    return ctx


ContextDep = Annotated[Context, Depends(get_context)]
