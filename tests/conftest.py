"""Shared fixtures: a service context on SQLite and on PostgreSQL, a fixed clock, a small region.

Every test that takes ``ctx`` runs once per backend. PostgreSQL must be reachable
(``LYSBORD_TEST_PG_URL``, default postgres@127.0.0.1:5432); ``LYSBORD_TEST_BACKENDS``
(comma list) narrows the backends for a quick local run.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Playwright, sync_playwright
from sqlalchemy import Engine, create_engine, text

from lysbord.config import Settings
from lysbord.services.core.context import Context
from lysbord.store.db import make_engine
from lysbord.store.migrate import upgrade
from lysbord.store.schema import metadata
from lysbord.store.uow import Database
from tests.helpers import build_small_region

PG_ADMIN_URL = os.environ.get(
    "LYSBORD_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
BACKENDS = [b for b in os.environ.get("LYSBORD_TEST_BACKENDS", "sqlite,postgresql").split(",") if b]

# Monday 23 November 2026, 08:00 in Copenhagen.
T0 = datetime(2026, 11, 23, 7, 0, tzinfo=UTC)


@dataclass
class Clock:
    """A clock tests move by hand."""

    at: datetime = T0

    def __call__(self) -> datetime:
        return self.at

    def advance(self, **kwargs: float) -> datetime:
        self.at += timedelta(**kwargs)
        return self.at


def _worker() -> str:
    """Unique per test process, so parallel runs (and xdist workers) never share a database."""
    return f"{os.environ.get('PYTEST_XDIST_WORKER', 'main')}_{os.getpid()}"


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """One migrated database per test worker; tests empty it between them."""
    name = f"lysbord_test_{_worker()}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    yield url
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file that each test copies instead of migrating again."""
    path = tmp_path_factory.mktemp("template") / "lysbord.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    engine.dispose()
    return path


def _truncate(engine: Engine) -> None:
    tables = ", ".join(f'"{t.name}"' for t in metadata.sorted_tables)
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        path = tmp_path / "lysbord.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite:///{path}"
    url: str = request.getfixturevalue("pg_url")
    engine = make_engine(url)
    _truncate(engine)
    engine.dispose()
    return url


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def bare_ctx(database_url: str, tmp_path: Path, clock: Clock) -> Iterator[Context]:
    """A context on an empty, migrated database."""
    settings = Settings(data_dir=tmp_path, database_url=database_url)
    db = Database(make_engine(database_url))
    yield Context(db=db, settings=settings, clock=clock)
    db.dispose()


@pytest.fixture
def ctx(bare_ctx: Context) -> Context:
    """A context with a small region: two sites, a few rooms, four weeks of slots."""
    build_small_region(bare_ctx)
    return bare_ctx


# One Playwright and one Chromium per test process, for every browser test (the screens'
# and the viewer's): Playwright's sync API allows one instance per thread.
CHROMIUM = "/usr/bin/chromium"


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as pw:
        yield pw


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"no {CHROMIUM}: run `make system-deps` (Debian package chromium)")
    chromium = playwright.chromium.launch(
        executable_path=CHROMIUM,
        headless=True,
        args=[
            "--no-sandbox",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-dev-shm-usage",
            "--enable-unsafe-swiftshader",  # software WebGL, for the viewer's canvases
        ],
    )
    yield chromium
    chromium.close()
