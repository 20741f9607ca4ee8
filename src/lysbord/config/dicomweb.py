"""Settings of DICOMweb and the viewer (``[dicomweb]`` in the TOML file)."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, Field

#: Where `make viewer` installs the OHIF viewer: .viewer/ in the source checkout.
CHECKOUT_VIEWER = Path(__file__).resolve().parents[3] / ".viewer"


class DicomWebSettings(BaseModel):
    """Limits of the DICOMweb door and where the viewer's files are."""

    model_config = {"extra": "forbid"}

    require_sign_in: bool = Field(
        True,
        description="DICOMweb answers only signed-in users (bearer token or session); "
        "STOW-RS needs the radiographer role. Off only for a closed test network",
    )
    public_url: str | None = Field(
        None,
        description="the DICOMweb root as clients reach it (behind a proxy), "
        "e.g. https://pacs.example/dicomweb; default: the address the server listens on",
    )
    stow_parallel: int = Field(
        4, ge=1, le=32, description="STOW-RS: parts of one request stored at the same time"
    )
    stow_max_instance_mb: int = Field(
        2048, ge=1, le=65536, description="STOW-RS: the largest instance (one part) taken, in MB"
    )

    viewer_dir: Path = Field(
        CHECKOUT_VIEWER,
        description="the OHIF viewer's files, rewritten for /viewer/ by `make viewer`",
    )
