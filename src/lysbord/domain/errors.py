"""One error tree for the whole system, translated once at each door.

    LysbordError
    ├── DomainError            a rule said no (HTTP 4xx, HL7 AE, DICOM failure status)
    │   ├── InvalidValue       a field's value is malformed (InvalidCpr, ...)
    │   ├── NotFound           UnknownPatient, UnknownProcedure, UnknownSlot, ...
    │   ├── Conflict           SlotTaken, IllegalTransition, AlreadyMerged, ...
    ├── ProtocolError          a message could not be understood (Hl7ParseError, DicomQueryError)
    └── ConfigError            settings that cannot work

Every error names the field, the value and the reason, so the door can say
exactly what was wrong: ``Invalid PatientID '0101651234x': not 10 characters``.

The reason is a ``Msg``: an English template (the message id of the catalogue in
``src/lysbord/locale/``) and its parameters, never a finished string, so each door says
it in its own language: the API, HL7 and DICOM in English (``reason``), the pages in
Danish (``web.messages``). ``make messages`` extracts every ``Msg("...")`` with pybabel.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

_COPENHAGEN = ZoneInfo("Europe/Copenhagen")


def _no_word(value: object) -> str | None:
    return None


class Msg:
    """``Msg("day {day} does not exist", day=32)``: a message id and its parameters.

    The template is a literal (pybabel reads it from the code) with ``str.format``
    placeholders; a time is shown in Copenhagen, a tuple as a list, a nested ``Msg`` in the
    language of the one around it.
    """

    __slots__ = ("msgid", "params")

    def __init__(self, msgid: str, /, **params: object) -> None:
        self.msgid = msgid
        self.params = params

    def text(
        self,
        translate: Callable[[str], str] = str,
        word: Callable[[object], str | None] = _no_word,
    ) -> str:
        """The message in the language of ``translate`` (msgid -> template), English by
        default; ``word`` names a value in that language (a state, a priority) or says None."""
        shown = {k: self._show(v, translate, word) for k, v in self.params.items()}
        return translate(self.msgid).format(**shown)

    @staticmethod
    def _show(
        value: object, translate: Callable[[str], str], word: Callable[[object], str | None]
    ) -> object:
        if isinstance(value, Msg):
            return value.text(translate, word)
        named = word(value)
        if named is not None:
            return named
        if isinstance(value, datetime) and value.tzinfo is not None:
            return value.astimezone(_COPENHAGEN).strftime("%Y-%m-%d %H:%M")
        if isinstance(value, date) and not isinstance(value, datetime):
            return value.isoformat()
        if isinstance(value, tuple):
            return ", ".join(str(Msg._show(v, translate, word)) for v in value)
        return value

    def as_json(self) -> dict[str, Any]:
        """The id and parameters as JSON, so a stored reason can be said again in any language
        (``from_json``); only JSON values, tuples and nested messages can be stored."""
        return {"msgid": self.msgid, "params": {k: _stored(v) for k, v in self.params.items()}}

    @classmethod
    def from_json(cls, stored: Mapping[str, Any]) -> Msg:
        params = stored.get("params") or {}
        return cls(str(stored["msgid"]), **{k: _loaded(v) for k, v in params.items()})

    def __str__(self) -> str:
        return self.text()

    def __repr__(self) -> str:
        return f"Msg({self.msgid!r}, **{self.params!r})"


def _stored(value: object) -> object:
    if isinstance(value, Msg):
        return value.as_json()
    if isinstance(value, tuple):
        return [_stored(v) for v in value]
    if value is None or isinstance(value, str | int | float | bool):
        return value
    raise TypeError(f"a stored message cannot hold {type(value).__name__} {value!r}")


def _loaded(value: object) -> object:
    if isinstance(value, dict) and "msgid" in value:
        return Msg.from_json(value)
    if isinstance(value, list):
        return tuple(_loaded(v) for v in value)
    return value


class LysbordError(Exception):
    """Base of every error Lysbord raises on purpose."""

    def __init__(self, msg: Msg, *, field: str | None = None, value: object = None) -> None:
        self.msg = msg
        self.field = field
        self.value = value
        super().__init__(self.message)

    @property
    def reason(self) -> str:
        """Why, in English (the API's problem detail, HL7 ERR, DICOM Error Comment)."""
        return self.msg.text()

    @property
    def message(self) -> str:
        if self.field is None:
            return self.reason
        if self.value is None:
            return f"{self.field}: {self.reason}"
        return f"Invalid {self.field} {self.value!r}: {self.reason}"


class DomainError(LysbordError):
    """A rule of the domain refused the request."""


class InvalidValue(DomainError):
    """A field's value is malformed or out of range."""


class InvalidCpr(InvalidValue):
    """Not a CPR number or replacement number (DOMAIN.md §2)."""


class NotFound(DomainError):
    """The thing named does not exist."""


class UnknownPatient(NotFound):
    pass


class UnknownProcedure(NotFound):
    pass


class UnknownProcedureCode(NotFound):
    pass


class UnknownSlot(NotFound):
    pass


class UnknownSite(NotFound):
    pass


class UnknownAppointment(NotFound):
    pass


class Conflict(DomainError):
    """The request is well-formed but clashes with the current state."""


class SlotTaken(Conflict):
    pass


class SlotUnsuitable(Conflict):
    """The slot exists and is free, but cannot take this procedure."""


class IllegalTransition(Conflict):
    """The state machine said no. ``current`` and ``target`` (state names, when the machine
    itself refused) let a door say it in its own language."""

    def __init__(
        self,
        msg: Msg,
        *,
        field: str | None = None,
        value: object = None,
        current: str | None = None,
        target: str | None = None,
    ) -> None:
        self.current, self.target = current, target
        super().__init__(msg, field=field, value=value)


class MergeRefused(Conflict):
    pass


class DuplicateIdentifier(Conflict):
    pass


class ProtocolError(LysbordError):
    """A message could not be understood at all."""


class ConfigError(LysbordError):
    """Settings that cannot work."""
