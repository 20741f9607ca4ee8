"""Settings of DICOMweb and the viewer (``[dicomweb]`` in the TOML file)."""

from __future__ import annotations

from pydantic import BaseModel


class DicomWebSettings(BaseModel):
    """Limits of the DICOMweb door and where the viewer's files are."""

    model_config = {"extra": "forbid"}
