"""Dependencies every router shares: the service context and the actor."""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import Depends, Header, Request

from lysbord.domain.errors import InvalidValue
from lysbord.services.context import Context

ACTOR = re.compile(r"^[A-Za-z0-9._@-]{1,64}$")


def get_context(request: Request) -> Context:
    ctx: Context = request.app.state.ctx
    return ctx


def get_actor(
    x_lysbord_user: Annotated[
        str | None, Header(description="Who makes this change (until sign-in exists)")
    ] = None,
) -> str:
    """Every write is attributed; an anonymous write is refused rather than guessed."""
    if x_lysbord_user is None:
        raise InvalidValue("header required: who makes this change", field="X-Lysbord-User")
    if not ACTOR.match(x_lysbord_user):
        raise InvalidValue(
            "1-64 letters, digits or . _ @ -", field="X-Lysbord-User", value=x_lysbord_user
        )
    return x_lysbord_user


ContextDep = Annotated[Context, Depends(get_context)]
ActorDep = Annotated[str, Depends(get_actor)]
