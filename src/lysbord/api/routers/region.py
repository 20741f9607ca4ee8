"""The region: sites with rooms, the procedure catalogue, blocked periods."""

from __future__ import annotations

from fastapi import APIRouter

from lysbord.api.schemas import BlockCreate, Created
from lysbord.http.context import ContextDep
from lysbord.http.deps import AdminActor
from lysbord.services.operations import region
from lysbord.services.operations.region import CodeView, SiteView

router = APIRouter(tags=["region"])


@router.get("/sites")
def list_sites(ctx: ContextDep) -> list[SiteView]:
    """The region's hospitals and their rooms."""
    return region.list_sites(ctx)


@router.get("/procedure-codes")
def list_procedure_codes(ctx: ContextDep) -> list[CodeView]:
    """The procedure catalogue."""
    return region.list_procedure_codes(ctx)


@router.post("/blocks", status_code=201)
def block(body: BlockCreate, ctx: ContextDep, actor: AdminActor) -> Created:
    """Close a room or a site for a window; existing bookings are kept."""
    block_id = region.block(
        ctx,
        site=body.site,
        room=body.room,
        start_at=body.start_at,
        end_at=body.end_at,
        reason=body.reason,
        actor=actor,
    )
    return Created(id=block_id)
