"""Settings of the web application and its sign-in (``[web]`` in the TOML file)."""

from __future__ import annotations

from pydantic import BaseModel, Field


class WebSettings(BaseModel):
    """Sessions, lock-out and cookies."""

    model_config = {"extra": "forbid"}

    session_hours: float = Field(
        10, gt=0, le=24 * 7, description="a session ends this long after sign-in (one shift)"
    )
    token_days: int = Field(
        365, ge=1, le=5 * 366, description="an API token stops working this long after it is made"
    )
    max_body_kib: int = Field(
        1024, ge=1, le=1024 * 1024, description="the largest body of a REST API or page write"
    )
    lockout_threshold: int = Field(
        5,
        ge=1,
        le=100,
        description="failed sign-ins in a row that lock an account from that address",
    )
    lockout_address_threshold: int = Field(
        20,
        ge=1,
        le=10000,
        description="failed sign-ins from one address, for any accounts, "
        "that refuse it for lockout_minutes",
    )
    lockout_minutes: int = Field(15, ge=1, le=24 * 60, description="how long a lock-out lasts")
    password_hash_memory_kib: int = Field(
        65536, ge=1024, le=4 * 1024 * 1024, description="argon2id memory (RFC 9106: 64 MiB)"
    )
    password_hash_time_cost: int = Field(3, ge=1, le=20, description="argon2id passes")
    cookie_secure: bool = Field(
        False, description="send cookies only over HTTPS (set true behind TLS)"
    )
