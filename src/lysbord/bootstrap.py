"""Wires settings to a database and a service context; the only place that connects."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import inspect
from sqlalchemy.engine import make_url

from lysbord.config import Settings
from lysbord.domain.errors import ConfigError, Msg
from lysbord.services.core.context import Context
from lysbord.store.db import make_engine
from lysbord.store.migrate import upgrade
from lysbord.store.uow import Database


def build_context(settings: Settings, *, migrate: bool = True) -> Context:
    """Open the database (creating the data directory, for the service user only) and
    bring its schema up to date."""
    settings.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    engine = make_engine(settings.effective_database_url)
    if migrate:
        upgrade(engine)
    return Context(db=Database(engine), settings=settings)


def open_existing(settings: Settings) -> Context:
    """Open a database that holds Lysbord already, for commands that read it: a mistyped
    data directory or URL is refused, not made into an empty database that checks out
    healthy."""
    url = make_url(settings.effective_database_url)
    missing = Msg("{url} holds no Lysbord database", url=url.render_as_string(hide_password=True))
    if url.get_backend_name() == "sqlite" and not Path(url.database or "").is_file():
        raise ConfigError(missing, field="data_dir")
    engine = make_engine(str(url))
    if not inspect(engine).has_table("alembic_version"):
        engine.dispose()
        raise ConfigError(missing, field="database_url")
    upgrade(engine)
    return Context(db=Database(engine), settings=settings)
