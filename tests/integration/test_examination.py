"""The examination run by hand at the room (services/pathway/examination.py), and MPPS
from the scanner afterwards: the two agree, whichever comes first (issue 23)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from lysbord.domain.errors import IllegalTransition, InvalidValue
from lysbord.services.core.context import Context
from lysbord.services.pathway import examination, procedures
from lysbord.services.pathway.mpps import ScheduledRef
from lysbord.services.pathway.procedures import Action
from lysbord.store.models import Event, Procedure
from tests.integration.test_mpps_service import booked_accession, finished, moves, started, uid

HAND = "radiograf"


def in_progress(ctx: Context) -> str:
    accession = booked_accession(ctx)
    procedures.apply(ctx, accession, Action.ARRIVE, HAND)
    procedures.apply(ctx, accession, Action.START, HAND)
    return accession


def expected(ctx: Context, accession: str) -> int | None:
    with ctx.uow(readonly=True) as uow:
        return uow.session.scalars(
            select(Procedure.images_expected).where(Procedure.accession == accession)
        ).one()


def kinds(ctx: Context, accession: str) -> list[str]:
    with ctx.uow(readonly=True) as uow:
        s = uow.session
        pid = s.scalars(select(Procedure.id).where(Procedure.accession == accession)).one()
        return list(s.scalars(select(Event.kind).where(Event.procedure_id == pid)))


@pytest.mark.parametrize("images", [120, None], ids=["counted", "images-follow"])
def test_completed_by_hand_with_the_images_to_expect(ctx: Context, images: int | None) -> None:
    accession = in_progress(ctx)
    examination.complete(ctx, accession, HAND, images)
    assert moves(ctx, accession)[-1] == ("in-progress", "completed", HAND)
    assert expected(ctx, accession) == images


def test_completing_what_never_started_is_refused_and_says_from_where(ctx: Context) -> None:
    accession = booked_accession(ctx)
    with pytest.raises(IllegalTransition) as refused:
        examination.complete(ctx, accession, HAND, 10)
    assert (refused.value.current, refused.value.target) == ("booked", "completed")
    assert moves(ctx, accession)[-1][1] == "booked" and expected(ctx, accession) is None


@pytest.mark.parametrize("images", [0, -1, examination.MAX_IMAGES + 1])
def test_a_count_of_images_out_of_range_is_refused(ctx: Context, images: int) -> None:
    accession = in_progress(ctx)
    with pytest.raises(InvalidValue) as refused:
        examination.complete(ctx, accession, HAND, images)
    assert refused.value.field == "images_expected"
    assert moves(ctx, accession)[-1][1] == "in-progress"


def test_a_technical_repeat_is_recorded_with_its_reason_and_changes_no_state(
    ctx: Context,
) -> None:
    accession = in_progress(ctx)
    examination.repeat(ctx, accession, " bevægelse ", HAND)
    examination.repeat(ctx, accession, "forkert lejring", HAND)
    assert kinds(ctx, accession).count("procedure.repeated") == 2
    assert moves(ctx, accession)[-1][1] == "in-progress"


def test_a_repeat_needs_a_reason_and_an_examination_in_progress(ctx: Context) -> None:
    accession = booked_accession(ctx)
    with pytest.raises(IllegalTransition):
        examination.repeat(ctx, accession, "bevægelse", HAND)
    with pytest.raises(InvalidValue):
        examination.repeat(ctx, in_progress(ctx), "  ", HAND)


def test_the_scanners_mpps_for_an_examination_started_by_hand_is_linked_not_doubled(
    ctx: Context,
) -> None:
    accession = in_progress(ctx)
    view = started(ctx, step := uid(), ScheduledRef(accession=accession))
    assert (view.accession, view.procedure_state) == (accession, "in-progress")
    finished(ctx, step, "COMPLETED", series_uids=[uid()])
    assert [m[1] for m in moves(ctx, accession)][-3:] == ["arrived", "in-progress", "completed"]
    assert kinds(ctx, accession).count("procedure.in-progress") == 1


def test_mpps_completed_after_completion_by_hand_changes_nothing(ctx: Context) -> None:
    accession = in_progress(ctx)
    started(ctx, step := uid(), ScheduledRef(accession=accession))
    examination.complete(ctx, accession, HAND, 2)
    finished(ctx, step, "COMPLETED", series_uids=[uid()])
    assert kinds(ctx, accession).count("procedure.completed") == 1
    assert expected(ctx, accession) == 2
