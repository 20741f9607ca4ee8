"""Settings of outbound HL7 (``[hl7_out]`` in the TOML file): receivers and retries.

Each destination names the message families it subscribes to: ``SIU`` (appointments:
S12 booked, S13 rescheduled, S15 cancelled, S26 not come), ``ORM`` (order status,
ORC-5) and ``ORU`` (the report). A change that no destination subscribes to writes no
outbox row. Where the standard and receivers' practice differ, each destination says
which it gets: ``no_show`` (SIU^S26, the standard's event, or S15 for receivers that
know only S12-S15) and ``order_status`` (ORM^O01, or OMI^O23 as IHE Radiology SWF.b
has it from v2.5).
"""

from __future__ import annotations

from typing import Literal, Self

from pydantic import BaseModel, Field, model_validator

MessageFamily = Literal["SIU", "ORM", "ORU"]
ALL_FAMILIES: tuple[MessageFamily, ...] = ("SIU", "ORM", "ORU")
# HD (hierarchic designator) text: no HL7 delimiters, printable.
_HD = r"^[^|^~\\&\r\n]*$"


class Hl7Destination(BaseModel):
    """One receiver (an EHR, a reporting system): where it listens and what it gets."""

    model_config = {"extra": "forbid"}

    name: str = Field(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9._-]+$")
    host: str = Field(min_length=1, max_length=253)
    port: int = Field(ge=1, le=65535)
    messages: list[MessageFamily] = Field(default_factory=lambda: list(ALL_FAMILIES))
    receiving_application: str = Field("", max_length=64, pattern=_HD, description="MSH-5")
    receiving_facility: str = Field("", max_length=64, pattern=_HD, description="MSH-6")
    no_show: Literal["SIU^S26", "SIU^S15"] = Field(
        "SIU^S26", description="a booked patient who did not come: S26, or S15 (cancelled)"
    )
    order_status: Literal["ORM^O01", "OMI^O23"] = Field(
        "ORM^O01", description="procedure status: ORM^O01, or OMI^O23 (v2.5 and later)"
    )

    def sent_as(self, message_type: str) -> str:
        """The message type this receiver gets for ``message_type``."""
        chosen = {"SIU^S26": self.no_show, "ORM^O01": self.order_status}
        return chosen.get(message_type, message_type)


class Hl7OutSettings(BaseModel):
    """Where outbound messages go, which each receiver gets, and how hard we retry."""

    model_config = {"extra": "forbid"}

    destinations: list[Hl7Destination] = Field(default_factory=list)
    sending_application: str = Field("LYSBORD", min_length=1, max_length=64, pattern=_HD)
    sending_facility: str = Field("REGION-H", min_length=1, max_length=64, pattern=_HD)
    version: Literal["2.3.1", "2.4", "2.5", "2.5.1"] = Field("2.5.1", description="MSH-12")
    max_attempts: int = Field(10, ge=1, le=1000, description="then the message is dead")
    backoff_base_seconds: float = Field(5.0, gt=0, le=3600)
    backoff_cap_seconds: float = Field(600.0, gt=0, le=86400)
    ack_timeout_seconds: float = Field(30.0, gt=0, le=600)
    connect_timeout_seconds: float = Field(10.0, gt=0, le=600)
    poll_seconds: float = Field(1.0, gt=0, le=60, description="idle wait between outbox scans")
    batch_size: int = Field(50, ge=1, le=1000, description="messages claimed per scan")

    @model_validator(mode="after")
    def _unique_names(self) -> Self:
        names = [d.name for d in self.destinations]
        for name in names:
            if names.count(name) > 1:
                raise ValueError(f"hl7_out.destinations: name {name!r} is listed twice")
        return self

    @model_validator(mode="after")
    def _omi_from_25(self) -> Self:
        for d in self.destinations:
            if d.order_status == "OMI^O23" and self.version in ("2.3.1", "2.4"):
                raise ValueError(
                    f"hl7_out.destinations: {d.name!r} wants OMI^O23, which HL7 defines"
                    f" from v2.5; version is {self.version}"
                )
        return self

    def subscribed(self, family: MessageFamily) -> list[Hl7Destination]:
        """The destinations that get this message family."""
        return [d for d in self.destinations if family in d.messages]

    def destination(self, name: str) -> Hl7Destination | None:
        return next((d for d in self.destinations if d.name == name), None)
