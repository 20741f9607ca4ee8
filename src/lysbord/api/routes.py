"""The REST API under ``/api/v1``: its routers, its error answers and its description."""

from __future__ import annotations

from fastapi import APIRouter, Depends, FastAPI

from lysbord import __version__
from lysbord.api.routers import (
    acute,
    booking,
    hl7,
    mpps,
    outbox,
    patients,
    procedures,
    referrals,
    region,
    report_templates,
    reports,
    studies,
    tracker,
)
from lysbord.http import deps, problems

# reports before procedures: its POST /procedures/{accession}/report wins over /{action}.
ROUTERS = (
    patients,
    referrals,
    reports,
    report_templates,
    acute,
    procedures,
    booking,
    tracker,
    region,
    studies,
    mpps,
    outbox,
    hl7,
)

DESCRIPTION = """Regional radiology information system and image archive.

Every call names its user with `Authorization: Bearer <token>` (`lysbord user token
USERNAME` prints one), or the browser's session cookie plus its `X-CSRF-Token` header
for a write. No or an unknown token is 401; a write the user's roles may not make is
403 (audited). Every write is attributed to that user. Times are UTC,
ISO 8601 with the zone (`2026-11-23T07:00:00Z`); times sent in must carry an offset.
Errors are RFC 9457 problem details (`application/problem+json`) naming the `field`
and the `reason`: 400 the body is not JSON; 404 the thing in the path does not exist;
409 the request clashes with the current state (taken slot, wrong workflow state,
duplicate CPR, refused merge); 422 a value is missing, of the wrong type or refused.
"""


def install(app: FastAPI) -> None:
    """Mount every resource router under ``/api/v1``, each needing a signed-in caller."""
    problems.install(app)
    deps.install(app)
    api = APIRouter(prefix="/api/v1", responses=problems.RESPONSES)
    for module in ROUTERS:
        api.include_router(module.router, dependencies=[Depends(deps.get_user)])

    @api.get("/health", tags=["system"])
    def health() -> dict[str, str]:
        """Up, and which version."""
        return {"status": "ok", "version": __version__}

    app.include_router(api)
