"""The HL7 inbox's table."""

from __future__ import annotations
