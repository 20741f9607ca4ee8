"""What the screens' pages share: the context, form errors beside their field, redirects.

A service refuses bad input with a ``LysbordError`` naming the field; a form shows that
error beside the field and keeps what was typed, so pages catch the error, turn it into
``{field: text}`` and render the same template again with the typed values.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from lysbord.domain.access import Role
from lysbord.domain.calendar import local_date
from lysbord.domain.errors import IllegalTransition, InvalidValue, LysbordError, Msg
from lysbord.domain.priorities import Priority
from lysbord.domain.workflow import TRANSITIONS, ProcedureState
from lysbord.http.context import get_context
from lysbord.services.core.context import Context
from lysbord.web import i18n, messages
from lysbord.web.templating import flash, lang_of, render

CtxDep = Annotated[Context, Depends(get_context)]

R = Role
#: Who may look at a patient's page (the role rules of the web interface).
PATIENT_READERS = (R.booking_clerk, R.screening_coordinator, R.radiographer, R.radiologist)
#: Who books, rebooks and cancels.
BOOKERS = (R.booking_clerk, R.screening_coordinator)
#: Who may change a referral's priority (radiologists too: they judge urgency).
TRIAGERS = (*BOOKERS, R.radiologist)


def tr(request: Request, key: str, **fmt: object) -> str:
    """A catalog text in the request's language, for texts made in a handler."""
    return i18n.t(key, lang_of(request), **fmt)


def body_part_label(request: Request, code: str) -> str:
    """A procedure code's body part (a DICOM term, ``CHEST``) in words, or the term itself."""
    key = f"bodypart.{code}"
    return tr(request, key) if key in i18n.catalog() else code


def error_text(request: Request, exc: LysbordError) -> str:
    """The error in the page's language (by its kind), with the service's reason in it too."""
    if isinstance(exc, IllegalTransition) and exc.current and exc.target:
        return _transition_text(request, ProcedureState(exc.current), ProcedureState(exc.target))
    key = f"err.{type(exc).__name__}"
    known = key in i18n.catalog()
    reason = messages.text(exc.msg, lang_of(request))
    return tr(request, key if known else "err.generic", reason=reason)


def _transition_text(request: Request, current: ProcedureState, target: ProcedureState) -> str:
    """A refused state change in words: where it is, where it was sent, where it may go."""
    allowed = [s for s in ProcedureState if s in TRANSITIONS[current]]
    said = tr(
        request,
        "err.transition",
        current=tr(request, f"state.{current}"),
        target=tr(request, f"state.{target}"),
    )
    if not allowed:
        return f"{said} {tr(request, 'err.transition_final')}"
    options = ", ".join(tr(request, f"state.{s}") for s in allowed)
    return f"{said} {tr(request, 'err.transition_options', options=options)}"


def field_errors(request: Request, exc: LysbordError, default_field: str) -> dict[str, str]:
    """The error as ``{field: text}``, for the form to show beside that field."""
    return {exc.field or default_field: error_text(request, exc)}


def redirect(url: str, flash_key: str | None = None) -> RedirectResponse:
    """After a write: 303 to the page that shows the result, with a one-time message."""
    response = RedirectResponse(url, status_code=303)
    if flash_key:
        flash(response, flash_key)
    return response


def iso_day(at: datetime) -> str:
    """The Copenhagen day of a UTC time as ``YYYY-MM-DD``, for links to a day's page."""
    return local_date(at).isoformat()


def optional_day(text: str | None, field: str) -> date | None:
    """A ``YYYY-MM-DD`` form or query value; None when empty."""
    if not text or not text.strip():
        return None
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise InvalidValue(Msg("not a date (YYYY-MM-DD)"), field=field, value=text) from None


def parse_priority(text: str, offered: tuple[Priority, ...] = tuple(Priority)) -> Priority:
    """A form's priority, one of those the form offers."""
    try:
        priority = Priority(text)
    except ValueError:
        raise InvalidValue(Msg("not a priority"), field="priority", value=text) from None
    if priority not in offered:
        raise InvalidValue(Msg("not a priority this form offers"), field="priority", value=text)
    return priority


def parse_day(text: str | None, today: date, field: str = "day") -> date:
    """A ``YYYY-MM-DD`` query value, or today when none is given."""
    return optional_day(text, field) or today


def missing(request: Request, exc: LysbordError, back: str) -> HTMLResponse:
    """The 404 page for an address naming something that does not exist."""
    return render(request, "screens/missing.html", 404, detail=error_text(request, exc), back=back)
