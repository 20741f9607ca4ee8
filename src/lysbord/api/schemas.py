"""Request bodies and list envelopes; responses are the services' own view dataclasses."""

from __future__ import annotations

from datetime import date, datetime
from typing import Generic, TypeVar

from pydantic import AwareDatetime, BaseModel, Field

from lysbord.domain.priorities import Priority
from lysbord.services.pathway.examination import MAX_IMAGES

T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    items: list[T]
    total: int
    limit: int
    offset: int


class PatientCreate(BaseModel):
    cpr: str = Field(
        description="CPR or replacement number, with or without the dash", examples=["0101651234"]
    )
    family_name: str = Field(min_length=1, max_length=100, examples=["Sørensen"])
    given_name: str = Field("", max_length=100, examples=["Åse"])
    preferred_site: str | None = Field(None, description="Site code", examples=["HER"])


class MergeRequest(BaseModel):
    target_cpr: str = Field(description="The record that lives on")
    reason: str = Field(min_length=1, max_length=2000)


class IdentifierCreate(BaseModel):
    number: str = Field(description="The new CPR or replacement number", examples=["0102034018"])
    reason: str = Field(min_length=1, max_length=2000, examples=["Nyt CPR-nummer tildelt"])


class ReasonBody(BaseModel):
    reason: str = Field(min_length=1, max_length=2000)


class OptionalReason(BaseModel):
    reason: str | None = Field(None, max_length=2000)


class Completion(BaseModel):
    """``complete`` by hand: how many images to expect; none said, they follow."""

    images_expected: int | None = Field(None, ge=1, le=MAX_IMAGES)


class Repeat(BaseModel):
    """A technical repeat during the examination, and why."""

    reason: str = Field(min_length=1, max_length=2000)


class ReferralCreate(BaseModel):
    cpr: str
    referring_unit: str = Field(min_length=1, max_length=200)
    clinical_question: str = Field(min_length=1, max_length=10000)
    priority: Priority
    procedures: list[str] = Field(
        min_length=1, max_length=20, description="Procedure codes from /procedure-codes"
    )
    received_at: AwareDatetime | None = Field(None, description="Defaults to now")
    requested_date: date | None = Field(None, description="For follow-up: the planned date")
    protocol_days: int | None = Field(
        None, ge=1, le=14, description="Cancer pathway protocol deadline in days"
    )
    preferred_site: str | None = None
    placer_order_number: str | None = Field(None, max_length=64)


class AppointmentCreate(BaseModel):
    accession: str
    slot_id: int


class BlockCreate(BaseModel):
    site: str
    room: str | None = None
    start_at: AwareDatetime
    end_at: AwareDatetime
    reason: str = Field(min_length=1, max_length=2000)


class Created(BaseModel):
    id: int


class Cancelled(BaseModel):
    accession: str
    state: str
    at: datetime


class TemplateBody(BaseModel):
    """A report template: its text may name the placeholders of ``/report-templates/fields``."""

    name: str = Field(max_length=200)
    text: str = Field(max_length=20000, description="e.g. 'Indikation: {{indication}}'")
    codes: list[str] = Field(max_length=100, description="Procedure codes it is offered for")


class TemplateFields(BaseModel):
    case: list[str] = Field(description="Filled from the procedure, the patient and the referral")
    free: list[str] = Field(description="Where the radiologist writes; filled with a mark")


class FilledTemplate(BaseModel):
    template_id: int
    accession: str
    text: str
