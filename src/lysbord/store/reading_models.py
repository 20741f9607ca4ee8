"""The reading room's tables: report templates per procedure code, and the room roster.

A template is retired, never deleted (``retired_at``): reports written from it stay
explainable. The roster says which radiographer works which room on which day; a
start by someone off it needs a reason (``services.pathway.roster``).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from lysbord.store.models import Base, Id


class ReportTemplate(Base):
    """A report text with placeholders (``{{indication}}``), edited by an administrator."""

    __tablename__ = "report_templates"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    text: Mapped[str] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[datetime]
    retired_at: Mapped[datetime | None]


class ReportTemplateCode(Base):
    """One procedure code a template is offered for."""

    __tablename__ = "report_template_codes"
    __table_args__ = (UniqueConstraint("template_id", "code"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    template_id: Mapped[int] = mapped_column(ForeignKey("report_templates.id"), index=True)
    code: Mapped[str] = mapped_column(ForeignKey("procedure_codes.code"), index=True)


class RosterEntry(Base):
    """A radiographer (by username) works a room on a day (Europe/Copenhagen)."""

    __tablename__ = "roster_entries"
    __table_args__ = (UniqueConstraint("room_id", "day", "username"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    room_id: Mapped[int] = mapped_column(ForeignKey("rooms.id"))
    day: Mapped[date] = mapped_column(index=True)
    username: Mapped[str] = mapped_column(String(64), index=True)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
