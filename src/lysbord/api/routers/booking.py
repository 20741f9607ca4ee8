"""Booking: free slots across the region, appointments, cancellations."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import AwareDatetime

from lysbord.api.schemas import AppointmentCreate, Cancelled, ReasonBody
from lysbord.http.context import ContextDep
from lysbord.http.deps import ClerkActor
from lysbord.services.pathway import booking, procedures
from lysbord.services.pathway.booking import SlotOffer
from lysbord.services.pathway.views import AppointmentView

router = APIRouter(tags=["booking"])


@router.get("/slots")
def find_slots(
    ctx: ContextDep,
    accession: str,
    site: Annotated[list[str] | None, Query(description="Site codes; repeat or comma")] = None,
    start_from: Annotated[AwareDatetime | None, Query(alias="from")] = None,
    start_before: Annotated[AwareDatetime | None, Query(alias="to")] = None,
    limit: Annotated[int, Query(ge=1, le=booking.MAX_OFFERS)] = 20,
) -> list[SlotOffer]:
    """Earliest fitting slots; within the deadline and at the preferred site first."""
    sites = [c.strip() for s in site for c in s.split(",") if c.strip()] if site else None
    return booking.find_slots(
        ctx, booking.SlotSearch(accession, sites, start_from, start_before, limit)
    )


@router.post("/appointments", status_code=201)
def book(body: AppointmentCreate, ctx: ContextDep, actor: ClerkActor) -> AppointmentView:
    """Book a procedure into a slot (rebooks if it already has one)."""
    return booking.book(ctx, body.accession, body.slot_id, actor)


@router.post("/appointments/{appointment_id}/cancel")
def cancel(appointment_id: int, body: ReasonBody, ctx: ContextDep, actor: ClerkActor) -> Cancelled:
    """Cancel an appointment; the procedure goes back to awaiting booking."""
    accession = booking.cancel_appointment(ctx, appointment_id, body.reason, actor)
    detail = procedures.get_procedure(ctx, accession)
    return Cancelled(accession=accession, state=detail.procedure.state, at=ctx.now())
