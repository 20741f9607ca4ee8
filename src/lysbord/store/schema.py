"""The whole schema in one MetaData: every module that declares tables, imported."""

from __future__ import annotations

from lysbord.store import archive_models, hl7_models, outbox_models, reading_models, user_models
from lysbord.store.models import Base

metadata = Base.metadata
__all__ = [
    "archive_models",
    "hl7_models",
    "metadata",
    "outbox_models",
    "reading_models",
    "user_models",
]
