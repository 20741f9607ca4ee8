"""Settings of the web application and its sign-in (``[web]`` in the TOML file)."""

from __future__ import annotations

from pydantic import BaseModel


class WebSettings(BaseModel):
    """Sessions, lock-out and cookies."""

    model_config = {"extra": "forbid"}
