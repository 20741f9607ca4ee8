"""What every benchmark suite shares: backends, timing and the printed table."""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from rich.console import Console
from rich.table import Table
from sqlalchemy import create_engine, text

from lysbord.bootstrap import build_context
from lysbord.config import Settings
from lysbord.services.core.context import Context

PG_ADMIN_URL = os.environ.get(
    "LYSBORD_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
BACKENDS = [
    b for b in os.environ.get("LYSBORD_BENCH_BACKENDS", "sqlite,postgresql").split(",") if b
]
console = Console()
T = TypeVar("T")


@dataclass
class Row:
    suite: str
    backend: str
    measure: str
    value: str
    target: str = ""
    verdict: str = ""


def percentile(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def timed(fn: Callable[..., T], *args: Any) -> tuple[T, float]:
    """Run once; return the result and the wall time in milliseconds."""
    start = time.perf_counter()
    result = fn(*args)
    return result, (time.perf_counter() - start) * 1000


def latency_rows(
    suite: str, backend: str, what: str, ms: list[float], target_ms: float
) -> list[Row]:
    median = statistics.median(ms)
    return [
        Row(
            suite,
            backend,
            f"{what} median",
            f"{median:.2f} ms",
            f"≤ {target_ms:g} ms",
            "ok" if median <= target_ms else "MISSED",
        ),
        Row(suite, backend, f"{what} p95", f"{percentile(ms, 95):.2f} ms"),
    ]


@contextmanager
def backend_context(backend: str, name: str) -> Iterator[Context]:
    """A fresh, migrated database of the given kind, removed afterwards."""
    with tempfile.TemporaryDirectory(prefix=f"lysbord-bench-{name}-") as tmp:
        if backend == "sqlite":
            ctx = build_context(Settings(data_dir=Path(tmp)))
        else:
            url = _fresh_pg_database(f"lysbord_bench_{name}")
            ctx = build_context(Settings(data_dir=Path(tmp), database_url=url))
        try:
            yield ctx
        finally:
            ctx.db.dispose()


def _fresh_pg_database(name: str) -> str:
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"


def print_table(title: str, rows: list[Row]) -> None:
    table = Table("suite", "backend", "measure", "value", "target", "", title=title)
    for r in rows:
        style = "red" if r.verdict == "MISSED" else None
        table.add_row(r.suite, r.backend, r.measure, r.value, r.target, r.verdict, style=style)
    console.print(table)
