"""Patients: registration, lookup by any number they ever had, merge and undo."""

from __future__ import annotations

from fastapi import APIRouter

from lysbord.api.schemas import IdentifierCreate, MergeRequest, PatientCreate, ReasonBody
from lysbord.http.context import ContextDep
from lysbord.http.deps import ClerkActor
from lysbord.services.archive import priors
from lysbord.services.archive.views import RegionStudy
from lysbord.services.people import patients, registration
from lysbord.services.people.views import PatientView

router = APIRouter(prefix="/patients", tags=["patients"])


@router.post("", status_code=201)
def register_patient(body: PatientCreate, ctx: ContextDep, actor: ClerkActor) -> PatientView:
    """Register a patient by CPR or replacement number."""
    cmd = registration.NewPatient(body.cpr, body.family_name, body.given_name, body.preferred_site)
    return registration.register_patient(ctx, cmd, actor)


@router.get("/{cpr}")
def get_patient(cpr: str, ctx: ContextDep) -> PatientView:
    """A patient by any identifier, following merges to the surviving record."""
    return registration.get_patient(ctx, cpr)


@router.get("/{cpr}/studies")
def patient_studies(cpr: str, ctx: ContextDep) -> list[RegionStudy]:
    """The patient's images from every site of the region, newest first, with viewer links."""
    return priors.patient_studies(ctx, cpr)


@router.post("/{cpr}/identifiers", status_code=201)
def add_identifier(
    cpr: str, body: IdentifierCreate, ctx: ContextDep, actor: ClerkActor
) -> PatientView:
    """Give the patient a further number; every number keeps finding the same record."""
    return registration.add_identifier(ctx, cpr, body.number, body.reason, actor)


@router.post("/{cpr}/merge")
def merge_patient(cpr: str, body: MergeRequest, ctx: ContextDep, actor: ClerkActor) -> PatientView:
    """Merge this record into the target; referrals, procedures and images follow."""
    return patients.merge_patients(ctx, cpr, body.target_cpr, body.reason, actor)


@router.post("/merges/{merge_id}/undo")
def undo_merge(merge_id: int, body: ReasonBody, ctx: ContextDep, actor: ClerkActor) -> PatientView:
    """Undo a merge: what it moved goes back to the old record."""
    return patients.undo_merge(ctx, merge_id, body.reason, actor)
