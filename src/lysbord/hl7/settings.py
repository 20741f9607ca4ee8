"""Settings of the inbound HL7 door (``[hl7]`` in the TOML file)."""

from __future__ import annotations

from pydantic import BaseModel


class Hl7InSettings(BaseModel):
    """How the MLLP door listens and maps what it receives."""

    model_config = {"extra": "forbid"}
