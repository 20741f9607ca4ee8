"""What every use case needs from its surroundings, passed in rather than imported."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from lysbord.config import Settings
from lysbord.store.uow import Database, UnitOfWork


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class Context:
    """The database, the settings and the clock; tests pass a fixed clock."""

    db: Database
    settings: Settings
    clock: Callable[[], datetime] = field(default=utc_now)

    def uow(self, *, readonly: bool = False) -> UnitOfWork:
        return self.db.uow(readonly=readonly)

    def now(self) -> datetime:
        return self.clock()
