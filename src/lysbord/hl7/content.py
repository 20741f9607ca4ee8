"""Domain refusals located in the message: which segment and field fed the refused value.

The services name their own fields (``cpr``, ``procedures[0]``); the door knows which
HL7 field each came from, so it wraps each call in ``located(...)`` and the answer's
ERR segment can say ``PID-3`` instead.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from lysbord.domain.errors import (
    Conflict,
    DomainError,
    DuplicateIdentifier,
    InvalidValue,
    Msg,
    NotFound,
    UnknownProcedureCode,
)
from lysbord.hl7 import parse as p
from lysbord.hl7.ack import Location, Problem
from lysbord.hl7.parse import Parsed
from lysbord.services.core.context import Context


class ContentError(DomainError):
    """A refusal with its place in the message and its HL7 error code."""

    def __init__(self, problem: Problem, msg: Msg) -> None:
        super().__init__(msg)
        self.problem = problem


@dataclass(frozen=True, slots=True)
class Handler:
    """How one message type is applied (AA answer) and refused (AE answer)."""

    apply: Callable[[Context, Session, Parsed, datetime], str]
    refuse: Callable[[Context, Parsed, Problem], str]


def code_for(exc: DomainError) -> int:
    """HL7 table 0357 for a domain refusal."""
    if isinstance(exc, UnknownProcedureCode):
        return p.TABLE_VALUE
    if isinstance(exc, NotFound):
        return p.UNKNOWN_KEY
    if isinstance(exc, DuplicateIdentifier):
        return p.DUPLICATE_KEY
    if isinstance(exc, InvalidValue):
        return p.DATA_TYPE
    if isinstance(exc, Conflict):
        return p.INTERNAL  # 0357 has no "wrong state"; ERR-5 names IllegalTransition etc.
    return p.INTERNAL


def problem(location: Location, exc: DomainError) -> Problem:
    if isinstance(exc, ContentError):
        return exc.problem
    if exc.value is not None:
        reason = f"Invalid {location} {exc.value!r}: {exc.reason}"
    else:
        reason = f"{location}: {exc.reason}"
    return Problem(location, code_for(exc), reason, type(exc).__name__)


def refuse(location: Location, reason: Msg, code: int, app_code: str = "") -> ContentError:
    return ContentError(Problem(location, code, f"{location}: {reason}", app_code), reason)


def required(text: str, location: Location) -> str:
    """A field the message cannot do without."""
    if not text:
        raise refuse(location, Msg("required field is empty"), p.REQUIRED_FIELD)
    return text


@contextmanager
def located(default: Location, **by_field: Location) -> Iterator[None]:
    """Name the message's field in any domain refusal raised inside: the one the
    service's field maps to in ``by_field``, else ``default``."""
    try:
        yield
    except DomainError as exc:
        where = by_field.get(exc.field or "", default)
        raise ContentError(problem(where, exc), exc.msg) from None
