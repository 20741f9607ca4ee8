"""Errors as RFC 9457 problem details, translated once, here.

Every problem names the field and the reason, so a person (or a form) can say
exactly what to fix: ``{"status": 409, "title": "Slot taken", "field": "slot_id", ...}``.
"""

from __future__ import annotations

from typing import Any, cast

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from lysbord.domain.errors import Conflict, LysbordError, NotFound

MEDIA_TYPE = "application/problem+json"


def problem(status: int, title: str, detail: str, **extra: Any) -> JSONResponse:
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail}
    body.update({k: v for k, v in extra.items() if v is not None})
    return JSONResponse(body, status_code=status, media_type=MEDIA_TYPE)


def _title(exc: LysbordError) -> str:
    """``SlotTaken`` -> ``Slot taken``."""
    name = type(exc).__name__
    words = "".join(f" {c.lower()}" if c.isupper() else c for c in name).strip()
    return words[:1].upper() + words[1:]


def _status(exc: LysbordError, request: Request) -> int:
    if isinstance(exc, NotFound):
        # Unknown thing in the path: 404. Unknown thing named in the body: 422.
        return 404 if exc.field in request.path_params else 422
    if isinstance(exc, Conflict):
        return 409
    return 422


async def on_lysbord_error(request: Request, exc: Exception) -> JSONResponse:
    exc = cast(LysbordError, exc)  # registered for this type only
    value = exc.value if isinstance(exc.value, str | int | float) else None
    return problem(
        _status(exc, request),
        _title(exc),
        exc.message,
        field=exc.field,
        value=value,
        reason=exc.reason,
    )


async def on_validation_error(request: Request, exc: Exception) -> JSONResponse:
    exc = cast(RequestValidationError, exc)
    errors = [
        {"field": ".".join(str(p) for p in e["loc"] if p != "body"), "reason": e["msg"]}
        for e in exc.errors()
    ]
    first = errors[0] if errors else {"field": None, "reason": "invalid request"}
    return problem(
        422,
        "Invalid request",
        f"{first['field']}: {first['reason']}",
        field=first["field"],
        reason=first["reason"],
        errors=errors,
    )


async def on_http_error(request: Request, exc: Exception) -> JSONResponse:
    exc = cast(HTTPException, exc)
    return problem(exc.status_code, str(exc.detail), str(exc.detail))


def install(app: FastAPI) -> None:
    app.add_exception_handler(LysbordError, on_lysbord_error)
    app.add_exception_handler(RequestValidationError, on_validation_error)
    app.add_exception_handler(HTTPException, on_http_error)
