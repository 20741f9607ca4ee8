"""Users, sessions and API tokens."""

from __future__ import annotations
