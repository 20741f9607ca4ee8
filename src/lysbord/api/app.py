"""The FastAPI application, built around a service context (nothing connects at import)."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI
from fastapi.responses import RedirectResponse

from lysbord import __version__
from lysbord.api import problems
from lysbord.api.routers import booking, patients, procedures, referrals, region, studies, tracker
from lysbord.services.context import Context

ROUTERS = (patients, referrals, procedures, booking, tracker, region, studies)

DESCRIPTION = """Regional radiology information system and image archive.

Every write (POST) names who makes it in the `X-Lysbord-User` header. Times are UTC,
ISO 8601 with the zone (`2026-11-23T07:00:00Z`); times sent in must carry an offset.
Errors are RFC 9457 problem details (`application/problem+json`) naming the `field`
and the `reason`: 400 the body is not JSON; 404 the thing in the path does not exist;
409 the request clashes with the current state (taken slot, wrong workflow state,
duplicate CPR, refused merge); 422 a value is missing, of the wrong type or refused,
including a missing or malformed `X-Lysbord-User` header.
"""


def create_app(ctx: Context) -> FastAPI:
    app = FastAPI(
        title="Lysbord",
        version=__version__,
        description=DESCRIPTION,
    )
    app.state.ctx = ctx
    problems.install(app)
    api = APIRouter(prefix="/api/v1", responses=problems.RESPONSES)
    for module in ROUTERS:
        api.include_router(module.router)

    @api.get("/health", tags=["system"])
    def health() -> dict[str, str]:
        """Up, and which version."""
        return {"status": "ok", "version": __version__}

    app.include_router(api)

    @app.get("/", include_in_schema=False)
    def home() -> RedirectResponse:
        return RedirectResponse("/docs")

    return app
