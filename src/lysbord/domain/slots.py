"""Weekly opening-hours templates turned into slots, and whether a slot fits a procedure.

Templates are Copenhagen wall-clock times: a room that opens at 08:00 opens at 08:00
all year, which is 07:00Z in winter and 06:00Z in summer. Slots are stored in UTC.
Blocked or closed rooms and taken slots are the store's business, not checked here.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import NoReturn

from lysbord.domain.calendar import is_working_day, local_datetime, require_aware
from lysbord.domain.errors import InvalidValue, Msg, SlotUnsuitable

#: Modalities that may use each other's rooms: DX and CR are both plain radiography.
_FAMILY = {"CR": "DX", "DX": "DX"}


@dataclass(frozen=True, slots=True)
class OpeningHours:
    """One weekday's opening hours of a room, cut into slots of ``slot_minutes``."""

    weekday: int
    opens: time
    closes: time
    slot_minutes: int

    def __post_init__(self) -> None:
        """Refuse templates that would silently produce no slots or nonsense."""
        if not 0 <= self.weekday <= 6:
            raise InvalidValue(
                Msg("must be 0 (Monday) to 6 (Sunday)"), field="weekday", value=self.weekday
            )
        if self.slot_minutes < 1:
            raise InvalidValue(
                Msg("must be 1 or more"), field="slot_minutes", value=self.slot_minutes
            )
        if self.closes <= self.opens:
            raise InvalidValue(
                Msg("must be after opens {opens}", opens=self.opens),
                field="closes",
                value=self.closes.isoformat(),
            )


def generate_slots(
    hours: Sequence[OpeningHours], first: date, last: date
) -> Iterator[tuple[datetime, datetime]]:
    """(start, end) in UTC of every slot on the working days from ``first`` to ``last``.

    Holidays and weekends have no slots, even if a template names a Saturday.
    """
    day = first
    while day <= last:
        if is_working_day(day):
            for h in sorted((h for h in hours if h.weekday == day.weekday()), key=_opens):
                yield from _day_slots(day, h)
        day += timedelta(days=1)


def check_slot_fits(
    *,
    slot_start: datetime,
    slot_end: datetime,
    duration_minutes: int,
    slot_modality: str,
    procedure_modality: str,
    now: datetime,
    earliest_at: datetime | None = None,
) -> None:
    """Raise SlotUnsuitable when the slot cannot take the procedure, saying why."""
    start, end = require_aware(slot_start, "slot_start"), require_aware(slot_end, "slot_end")
    if duration_minutes < 1:
        raise InvalidValue(
            Msg("must be 1 or more"), field="duration_minutes", value=duration_minutes
        )
    if not modalities_compatible(slot_modality, procedure_modality):
        _unsuitable(
            Msg(
                "modality {slot} does not match procedure modality {procedure}",
                slot=slot_modality,
                procedure=procedure_modality,
            )
        )
    length = (end - start) / timedelta(minutes=1)
    if length < duration_minutes:
        _unsuitable(
            Msg(
                "slot is {length} minutes, procedure needs {needs}",
                length=f"{length:g}",
                needs=duration_minutes,
            )
        )
    if start < require_aware(now, "now"):
        _unsuitable(Msg("the slot started at {start}, in the past", start=start))
    if earliest_at is not None and start < require_aware(earliest_at, "earliest_at"):
        _unsuitable(
            Msg(
                "slot is before the earliest date for this follow-up ({earliest})",
                earliest=earliest_at,
            )
        )


def modalities_compatible(slot_modality: str, procedure_modality: str) -> bool:
    """Exact match, except that DX and CR (plain radiography) share rooms."""
    family = _FAMILY.get(slot_modality, slot_modality)
    return family == _FAMILY.get(procedure_modality, procedure_modality)


def _day_slots(day: date, h: OpeningHours) -> Iterator[tuple[datetime, datetime]]:
    """Consecutive slots of one template on one day, converted from wall time to UTC."""
    step = timedelta(minutes=h.slot_minutes)
    start, closes = datetime.combine(day, h.opens), datetime.combine(day, h.closes)
    while start + step <= closes:
        end = start + step
        yield local_datetime(day, start.time()), local_datetime(end.date(), end.time())
        start = end


def _opens(h: OpeningHours) -> time:
    return h.opens


def _unsuitable(reason: Msg) -> NoReturn:
    raise SlotUnsuitable(reason, field="slot_id")
