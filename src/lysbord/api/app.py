"""The FastAPI application, built around a service context (nothing connects at import)."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI
from fastapi.responses import RedirectResponse

from lysbord import __version__
from lysbord.api import problems
from lysbord.api.routers import booking, patients, procedures, referrals, region, tracker
from lysbord.services.context import Context

ROUTERS = (patients, referrals, procedures, booking, tracker, region)


def create_app(ctx: Context) -> FastAPI:
    app = FastAPI(
        title="Lysbord",
        version=__version__,
        description="Regional radiology information system and image archive.",
    )
    app.state.ctx = ctx
    problems.install(app)
    api = APIRouter(prefix="/api/v1")
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
