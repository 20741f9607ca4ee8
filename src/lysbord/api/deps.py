"""Dependencies every router shares: the service context and the actor.

Every write (POST) needs the ``X-Lysbord-User`` header until sign-in exists. A
missing or malformed header is answered **422** with ``field: "X-Lysbord-User"``,
like every other missing or invalid request value (FastAPI's own rule for missing
headers, query and body fields), so a client needs one rule for "fix this value".
It is checked before the body reaches a service, so nothing is written.
"""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import Depends, Header, Request

from lysbord.domain.errors import InvalidValue
from lysbord.services.context import Context

ACTOR_HEADER = "X-Lysbord-User"
ACTOR = re.compile(r"^[A-Za-z0-9._@-]{1,64}$")


def get_context(request: Request) -> Context:
    ctx: Context = request.app.state.ctx
    return ctx


def get_actor(
    actor: Annotated[
        str,
        Header(
            alias=ACTOR_HEADER,
            description="Who makes this change (until sign-in exists): 1-64 of A-Z a-z 0-9 . _ @ -",
        ),
    ],
) -> str:
    """Every write is attributed; an anonymous or unreadable actor is refused, not guessed."""
    if not ACTOR.match(actor):
        raise InvalidValue("1-64 letters, digits or . _ @ -", field=ACTOR_HEADER, value=actor)
    return actor


ContextDep = Annotated[Context, Depends(get_context)]
ActorDep = Annotated[str, Depends(get_actor)]
