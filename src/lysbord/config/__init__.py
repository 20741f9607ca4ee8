"""One validated Settings object, built at start-up and passed down; each door's section
is its own module beside this one (``config.hl7``, ``config.web``...), so services read
them without importing a door.

Sources, strongest first: command-line flags, ``LYSBORD_*`` environment
variables (nested with ``__``, e.g. ``LYSBORD_DEADLINES__CANCER_DAYS``), the
TOML file (``--config`` or ``DATA_DIR/lysbord.toml``), then the defaults below.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Self

from pydantic import BaseModel, Field, ValidationError, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from lysbord.config.dicomweb import DicomWebSettings
from lysbord.config.hl7 import Hl7InSettings
from lysbord.config.hl7_out import Hl7OutSettings
from lysbord.config.web import WebSettings
from lysbord.domain.errors import ConfigError, Msg
from lysbord.domain.priorities import DeadlinePolicy


class DeadlineSettings(BaseModel):
    """Deadline thresholds (DOMAIN.md §3); the defaults are the legal ones."""

    acute_hours: int = Field(4, ge=1, le=48)
    cancer_days: int = Field(14, ge=1, le=14)
    cancer_notify_weekdays: int = Field(8, ge=1, le=8)
    urgent_days: int = Field(7, ge=1, le=30)
    routine_days: int = Field(30, ge=1, le=30)
    follow_up_tolerance_days: int = Field(14, ge=0, le=90)

    def policy(self) -> DeadlinePolicy:
        return DeadlinePolicy(**self.model_dump())


class DicomPeer(BaseModel):
    """An application entity the DICOM door knows: who it is, where it listens, what it may do.

    The address is where Lysbord connects *to* the peer (C-MOVE destination, Storage
    Commitment reports); the flags say which services the peer may ask of Lysbord.
    """

    model_config = {"extra": "forbid"}

    ae_title: str = Field(min_length=1, max_length=16)
    host: str = Field(min_length=1, max_length=253)
    port: int = Field(ge=1, le=65535)
    site: str | None = Field(None, min_length=1, max_length=16, description="site code")
    store: bool = True
    query: bool = True
    retrieve: bool = True
    worklist: bool = True
    mpps: bool = True
    commitment: bool = True

    @field_validator("ae_title")
    @classmethod
    def _valid_ae_title(cls, value: str) -> str:
        """PS3.5 6.2 AE: at most 16 characters, no backslash or control characters;
        leading and trailing spaces are not significant, so they are dropped here."""
        title = value.strip()
        if not title:
            raise ValueError(f"AE title {value!r} is empty or only spaces")
        if "\\" in title or any(ord(c) < 0x20 or ord(c) > 0x7E for c in title):
            raise ValueError(
                f"AE title {value!r} has a backslash or a character outside printable ASCII"
            )
        return title


class Settings(BaseSettings):
    """Everything a running Lysbord needs to know about its surroundings."""

    model_config = SettingsConfigDict(
        env_prefix="LYSBORD_", env_nested_delimiter="__", extra="forbid"
    )

    data_dir: Path = Path("var")
    database_url: str | None = None
    http_host: str = "127.0.0.1"
    http_port: int = Field(8300, ge=0, le=65535)
    http_workers: int = Field(2, ge=1, le=64, description="processes serving the HTTP port")
    dicom_host: str = "127.0.0.1"
    dicom_port: int = Field(11112, ge=0, le=65535)
    dicom_workers: int = Field(4, ge=1, le=64, description="processes accepting on the DICOM port")
    dicom_fast_paths: bool = Field(
        True, description="the DICOM door's shortcuts through pynetdicom's internals (dicom/fast/)"
    )
    hl7_port: int = Field(2575, ge=0, le=65535)
    ae_title: str = Field("LYSBORD", min_length=1, max_length=16)
    dicom_peers: list[DicomPeer] = Field(
        default_factory=list, description="the AEs that may associate, and what each may do"
    )
    dicom_allow_any_peer: bool = Field(
        False, description="accept unknown calling AE titles too (with every permission)"
    )
    accession_prefix: str = Field("LB", pattern=r"^[A-Z]{1,4}$")
    uid_root: str = Field("2.25", pattern=r"^[0-9]+(\.[0-9]+)*$")
    region_issuer: str = Field("REGION-H", min_length=1, max_length=64)
    deadlines: DeadlineSettings = DeadlineSettings()
    hl7: Hl7InSettings = Hl7InSettings()
    hl7_out: Hl7OutSettings = Hl7OutSettings()
    web: WebSettings = WebSettings()
    dicomweb: DicomWebSettings = DicomWebSettings()

    @model_validator(mode="after")
    def _unique_peers(self) -> Self:
        seen: set[str] = set()
        for peer in self.dicom_peers:
            if peer.ae_title in seen:
                raise ValueError(f"dicom_peers: AE title {peer.ae_title!r} is listed twice")
            seen.add(peer.ae_title)
        return self

    @property
    def effective_database_url(self) -> str:
        """The configured URL, or SQLite in the data directory (the embedded default)."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'lysbord.db').resolve()}"

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, TomlConfigSettingsSource(settings_cls))


def load_settings(config_file: Path | None = None, **overrides: Any) -> Settings:
    """Build Settings from flags (``overrides``; None means "not given"), env and TOML."""
    given = {key: value for key, value in overrides.items() if value is not None}
    data_dir = Path(given.get("data_dir") or os.environ.get("LYSBORD_DATA_DIR") or "var")
    if config_file is not None and not config_file.is_file():
        raise ConfigError(Msg("no such file"), field="config", value=str(config_file))
    toml_file = config_file or data_dir / "lysbord.toml"

    class _Settings(Settings):
        model_config = SettingsConfigDict(toml_file=toml_file if toml_file.is_file() else None)

    try:
        return Settings.model_validate(_Settings(**given).model_dump())
    except ValidationError as exc:
        raise _config_error(exc) from None


def _config_error(exc: ValidationError) -> ConfigError:
    """The first problem pydantic found, as a ConfigError naming the field, value and reason."""
    first = exc.errors()[0]
    field = ".".join(str(part) for part in first["loc"]) or None
    reason = Msg("{detail}", detail=first["msg"].removeprefix("Value error, "))
    if exc.error_count() > 1:
        reason = Msg("{reason} (and {n} more problems)", reason=reason, n=exc.error_count() - 1)
    value = first.get("input")
    return ConfigError(reason, field=field, value=value if isinstance(value, str | int) else None)
