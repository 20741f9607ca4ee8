"""Referral priorities and the deadlines they carry (DOMAIN.md §3).

Legal rights: suspected cancer must start work-up within 14 calendar days of the
hospital receiving the referral and the patient must know the date within 8 weekdays;
everyone else has the right to complete work-up within 30 days (udredningsret). The
thresholds are configuration (DeadlinePolicy) with these defaults.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum

from lysbord.domain.calendar import (
    add_working_days,
    end_of_local_day,
    local_date,
    require_aware,
    start_of_local_day,
)
from lysbord.domain.errors import InvalidValue, Msg

#: A pakkeforløb protocol may be stricter than the legal 14 days, never looser.
MAX_PROTOCOL_DAYS = 14


class Priority(StrEnum):
    """How soon a referral must be worked up; declared from most to least urgent."""

    ACUTE = "acute"
    CANCER_PATHWAY = "cancer-pathway"
    URGENT = "urgent"
    ROUTINE = "routine"
    FOLLOW_UP = "follow-up"
    SCREENING = "screening"

    @property
    def rank(self) -> int:
        """0 for the most urgent; sort work lists by this, not by the name."""
        return _RANK[self]


_RANK = {p: i for i, p in enumerate(Priority)}
_POSITIVE_FIELDS = (
    "acute_hours",
    "cancer_days",
    "cancer_notify_weekdays",
    "urgent_days",
    "routine_days",
)


def _require_positive(name: str, value: int) -> None:
    if value < 1:
        raise InvalidValue(Msg("must be 1 or more"), field=name, value=value)


@dataclass(frozen=True, slots=True)
class DeadlinePolicy:
    """Deadline thresholds; the defaults follow Danish law and practice."""

    acute_hours: int = 4
    cancer_days: int = 14
    cancer_notify_weekdays: int = 8
    urgent_days: int = 7
    routine_days: int = 30
    follow_up_tolerance_days: int = 14

    def __post_init__(self) -> None:
        """Refuse thresholds that would make every referral overdue at once."""
        for name in _POSITIVE_FIELDS:
            _require_positive(name, getattr(self, name))
        if self.follow_up_tolerance_days < 0:
            raise InvalidValue(
                Msg("must be 0 or more"),
                field="follow_up_tolerance_days",
                value=self.follow_up_tolerance_days,
            )


@dataclass(frozen=True, slots=True)
class Deadlines:
    """When work-up must start, when the patient must know the date, and how early."""

    due_at: datetime
    notify_by: datetime | None = None
    earliest_at: datetime | None = None


def compute_deadlines(
    priority: Priority,
    received_at: datetime,
    policy: DeadlinePolicy = DeadlinePolicy(),
    *,
    requested_date: date | None = None,
    protocol_days: int | None = None,
    screening_due: datetime | None = None,
) -> Deadlines:
    """The deadlines of a referral received at ``received_at`` (all results in UTC).

    ``requested_date`` is used for follow-up and ``screening_due`` for screening only;
    ``protocol_days`` (a stricter pakkeforløb limit) is allowed for cancer-pathway only.
    """
    received = require_aware(received_at, "received_at")
    _check_protocol_days(priority, protocol_days)
    match priority:
        case Priority.ACUTE:
            return Deadlines(received + timedelta(hours=policy.acute_hours))
        case Priority.CANCER_PATHWAY:
            return _cancer_deadlines(received, policy, protocol_days)
        case Priority.URGENT:
            return Deadlines(received + timedelta(days=policy.urgent_days))
        case Priority.ROUTINE:
            return Deadlines(received + timedelta(days=policy.routine_days))
        case Priority.FOLLOW_UP:
            return _follow_up_deadlines(requested_date, policy)
        case Priority.SCREENING:
            if screening_due is None:
                raise InvalidValue(
                    Msg("a screening referral needs its due date"), field="screening_due"
                )
            return Deadlines(require_aware(screening_due, "screening_due"))


def _cancer_deadlines(
    received: datetime, policy: DeadlinePolicy, protocol_days: int | None
) -> Deadlines:
    """14 calendar days (or the protocol's), and told by the end of the 8th weekday."""
    days = policy.cancer_days if protocol_days is None else protocol_days
    notify_day = add_working_days(local_date(received), policy.cancer_notify_weekdays)
    return Deadlines(received + timedelta(days=days), notify_by=end_of_local_day(notify_day))


def _follow_up_deadlines(requested_date: date | None, policy: DeadlinePolicy) -> Deadlines:
    """A planned control is due around the requested date, within the tolerance."""
    if requested_date is None:
        raise InvalidValue(Msg("a follow-up needs the requested date"), field="requested_date")
    tolerance = timedelta(days=policy.follow_up_tolerance_days)
    return Deadlines(
        end_of_local_day(requested_date + tolerance),
        earliest_at=start_of_local_day(requested_date - tolerance),
    )


def _check_protocol_days(priority: Priority, protocol_days: int | None) -> None:
    if protocol_days is None:
        return
    if priority is not Priority.CANCER_PATHWAY:
        raise InvalidValue(
            Msg(
                "only a cancer-pathway referral has protocol days, not {priority}",
                priority=priority,
            ),
            field="protocol_days",
            value=protocol_days,
        )
    if not 1 <= protocol_days <= MAX_PROTOCOL_DAYS:
        raise InvalidValue(
            Msg(
                "must be 1 to {max_protocol_days} (a protocol may only shorten the legal limit)",
                max_protocol_days=MAX_PROTOCOL_DAYS,
            ),
            field="protocol_days",
            value=protocol_days,
        )
