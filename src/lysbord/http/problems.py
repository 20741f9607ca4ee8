"""Errors as RFC 9457 problem details, translated once, here.

Every problem names the field and the reason, so a person (or a form) can say
exactly what to fix: ``{"status": 409, "title": "Slot taken", "field": "slot_id", ...}``.

Status codes, one rule each:

- 400: the body is not JSON at all (syntax); nothing in it could be read.
- 404: the thing named in the *path* does not exist (``/procedures/{accession}``).
- 409: the request is well-formed but clashes with the current state (a taken slot,
  a wrong workflow state, a duplicate CPR, a refused merge).
- 422: a value is missing, of the wrong type or refused by a rule, including a
  missing ``X-Lysbord-User`` header and an unknown thing named in the body or query.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException

from lysbord.domain.errors import Conflict, LysbordError, NotFound

MEDIA_TYPE = "application/problem+json"
LOCATIONS = ("body", "query", "path", "header", "cookie")


class FieldError(BaseModel):
    field: str
    reason: str
    location: str | None = Field(None, alias="in")


class Problem(BaseModel):
    """The shape of every error answer (RFC 9457), for the OpenAPI document."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str
    instance: str | None = None
    field: str | None = Field(None, description="The field to fix, e.g. procedures[0]")
    value: str | int | float | None = Field(None, description="The value that was refused")
    reason: str | None = Field(None, description="Why, in words")
    errors: list[FieldError] | None = Field(None, description="Every invalid field")


def _content(description: str) -> dict[str, Any]:
    return {"model": Problem, "description": description, "content": {MEDIA_TYPE: {}}}


#: Documented on every route: the OpenAPI document then says what errors look like.
RESPONSES: dict[int | str, dict[str, Any]] = {
    400: _content("The body is not valid JSON"),
    404: _content("The thing named in the path does not exist"),
    409: _content("Clashes with the current state"),
    422: _content("A value is missing, of the wrong type or refused"),
}


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
        instance=request.url.path,
        field=exc.field,
        value=value,
        reason=exc.reason,
    )


def field_name(loc: Sequence[str | int]) -> tuple[str, str | None]:
    """``("body", "procedures", 0)`` -> ``("procedures[0]", "body")``, as services name fields."""
    where = str(loc[0]) if loc and loc[0] in LOCATIONS else None
    name = ""
    for part in loc[1:] if where else loc:
        if isinstance(part, int):
            name += f"[{part}]"
        else:
            name += f".{part}" if name else str(part)
    return name or where or "body", where


def _field_error(error: dict[str, Any]) -> dict[str, Any]:
    if error["type"] == "json_invalid":
        return {"field": "body", "reason": _json_reason(error), "in": "body"}
    name, where = field_name(error["loc"])
    return {"field": name, "reason": error["msg"], "in": where}


def _json_reason(error: dict[str, Any]) -> str:
    """Say where the JSON breaks: the character position is all the parser gives."""
    why, at = error.get("ctx", {}).get("error"), error["loc"][-1]
    return f"not valid JSON{f' ({why})' if why else ''} at character {at}"


async def on_validation_error(request: Request, exc: Exception) -> JSONResponse:
    exc = cast(RequestValidationError, exc)
    errors = [_field_error(e) for e in exc.errors()]
    first = errors[0] if errors else {"field": None, "reason": "invalid request"}
    syntax = any(e["type"] == "json_invalid" for e in exc.errors())
    return problem(
        400 if syntax else 422,
        "Malformed JSON" if syntax else "Invalid request",
        f"{first['field']}: {first['reason']}",
        instance=request.url.path,
        field=first["field"],
        reason=first["reason"],
        errors=errors,
    )


async def on_http_error(request: Request, exc: Exception) -> JSONResponse:
    exc = cast(HTTPException, exc)
    response = problem(exc.status_code, str(exc.detail), str(exc.detail), instance=request.url.path)
    response.headers.update(exc.headers or {})  # e.g. Allow on 405
    return response


async def on_unexpected_error(request: Request, exc: Exception) -> JSONResponse:
    """A bug: answer in the same shape, say nothing internal; the server logs the trace."""
    return problem(500, "Internal error", "an unexpected error", instance=request.url.path)


def install(app: FastAPI) -> None:
    app.add_exception_handler(Exception, on_unexpected_error)
    app.add_exception_handler(LysbordError, on_lysbord_error)
    app.add_exception_handler(RequestValidationError, on_validation_error)
    app.add_exception_handler(HTTPException, on_http_error)
