"""DICOMweb errors as RFC 9457 problem details, with the status PS3.18 8.5 asks for.

The REST API's error tree maps a domain error to 404/409/422; DICOMweb also needs
400 (a query or body the server cannot parse), 406 (no acceptable media type),
413 and 415 (a body of a type it does not take). One exception carries the status,
so the routes stay thin and every answer names the field and the reason.
"""

from __future__ import annotations

from typing import cast

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from lysbord.http.problems import problem

TITLES = {
    400: "Bad request",
    404: "Not found",
    406: "Not acceptable",
    409: "Conflict",
    413: "Content too large",
    415: "Unsupported media type",
}


class DicomWebError(Exception):
    """A request the DICOMweb door refuses, with the HTTP status to answer."""

    def __init__(self, status: int, reason: str, *, field: str, value: str | None = None) -> None:
        self.status = status
        self.reason = reason
        self.field = field
        self.value = value
        super().__init__(self.detail)

    @property
    def detail(self) -> str:
        if self.value is None:
            return f"{self.field}: {self.reason}"
        return f"Invalid {self.field} {self.value!r}: {self.reason}"


def warning_header(warnings: list[str]) -> dict[str, str]:
    """``Warning: 299 lysbord "..."`` values (as PS3.18 8.3.4.3 uses them), or no header."""
    if not warnings:
        return {}
    quoted = (w.replace('"', "'").encode("ascii", "replace").decode() for w in warnings)
    return {"Warning": ", ".join(f'299 lysbord "{w}"' for w in quoted)}


def bad_request(reason: str, *, field: str, value: str | None = None) -> DicomWebError:
    return DicomWebError(400, reason, field=field, value=value)


def not_acceptable(accept: str, offered: str) -> DicomWebError:
    return DicomWebError(
        406, f"this resource is offered as {offered}", field="Accept", value=accept
    )


async def on_dicomweb_error(request: Request, exc: Exception) -> JSONResponse:
    exc = cast(DicomWebError, exc)  # registered for this type only
    return problem(
        exc.status,
        TITLES.get(exc.status, "Refused"),
        exc.detail,
        instance=request.url.path,
        field=exc.field,
        value=exc.value,
        reason=exc.reason,
    )


def install(app: FastAPI) -> None:
    app.add_exception_handler(DicomWebError, on_dicomweb_error)
