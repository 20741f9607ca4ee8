"""Settings of outbound HL7 (``[hl7_out]`` in the TOML file): receivers and retries."""

from __future__ import annotations

from pydantic import BaseModel


class Hl7OutSettings(BaseModel):
    """Where outbound messages go, which each receiver gets, and how hard we retry."""

    model_config = {"extra": "forbid"}
