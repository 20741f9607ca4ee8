"""Wires settings to a database and a service context; the only place that connects."""

from __future__ import annotations

from lysbord.config import Settings
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
