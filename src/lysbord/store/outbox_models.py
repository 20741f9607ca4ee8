"""The outbox's and the reports' tables."""

from __future__ import annotations
