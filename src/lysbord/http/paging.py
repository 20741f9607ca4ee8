"""The offset every list takes, bounded: a value past any list is a 422 naming ``offset``,
never a 500 from a database integer it does not fit."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query

#: More rows than any list holds; well inside SQLite's and PostgreSQL's 64-bit integers.
MAX_OFFSET = 1_000_000_000

Offset = Annotated[int, Query(ge=0, le=MAX_OFFSET, description="rows to skip")]
