from lysbord.domain.priorities import Priority
from lysbord.services.operations.check import run_checks
from lysbord.services.pathway import booking, tracker
from tests.helpers import new_referral


def test_referral_book_and_track(ctx):
    ref = new_referral(ctx, priority=Priority.CANCER_PATHWAY)
    acc = ref.procedures[0].accession
    offers = booking.find_slots(ctx, booking.SlotSearch(acc))
    assert offers and offers[0].within_deadline
    appt = booking.book(ctx, acc, offers[0].slot_id, "tester")
    assert appt.slot_id == offers[0].slot_id
    board = tracker.board(ctx)
    assert board.open_referrals == 1
    assert all(f.count == 0 for f in run_checks(ctx)), run_checks(ctx)
