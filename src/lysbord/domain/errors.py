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
"""

from __future__ import annotations


class LysbordError(Exception):
    """Base of every error Lysbord raises on purpose."""

    def __init__(self, reason: str, *, field: str | None = None, value: object = None) -> None:
        self.reason = reason
        self.field = field
        self.value = value
        super().__init__(self.message)

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
        reason: str,
        *,
        field: str | None = None,
        value: object = None,
        current: str | None = None,
        target: str | None = None,
    ) -> None:
        self.current, self.target = current, target
        super().__init__(reason, field=field, value=value)


class MergeRefused(Conflict):
    pass


class DuplicateIdentifier(Conflict):
    pass


class ProtocolError(LysbordError):
    """A message could not be understood at all."""


class ConfigError(LysbordError):
    """Settings that cannot work."""
