"""Patients through the service layer: registration, lookup, merge and undo (IHE PIR).

A merge must never lose anything: the old number still finds the patient, the
referrals follow, and an undo moves back exactly what the merge moved.
"""

from __future__ import annotations

import random
import string
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from lysbord.domain.errors import (
    DuplicateIdentifier,
    InvalidCpr,
    InvalidValue,
    MergeRefused,
    NotFound,
    UnknownPatient,
    UnknownSite,
)
from lysbord.services.core.context import Context
from lysbord.services.operations.check import run_checks
from lysbord.services.pathway import referral_queries
from lysbord.services.people import patients, registration
from lysbord.store.models import Event, Patient, Referral
from tests.helpers import new_patient, new_referral, random_cpr

REASON = "samme person, bekræftet ved ID-kontrol"


def random_ecpr(century_digit: str) -> str:
    """A replacement number: DDMMYY, a century digit, two letters A-Z and a sex digit."""
    rng = random.Random()
    born = date(1930, 1, 1) + timedelta(days=rng.randrange(0, 365 * 60))
    letters = "".join(rng.choice(string.ascii_uppercase) for _ in range(2))
    return f"{born:%d%m%y}{century_digit}{letters}{rng.randrange(10)}"


def referral_owner_ids(ctx: Context, referral_ids: list[int]) -> set[int]:
    with ctx.uow(readonly=True) as uow:
        stmt = select(Referral.patient_id).where(Referral.id.in_(referral_ids))
        return set(uow.session.scalars(stmt))


def patient_events(ctx: Context, patient_id: int, kind: str) -> list[tuple[str | None, dict]]:
    """(reason, data) of each event of this kind about this patient, oldest first."""
    with ctx.uow(readonly=True) as uow:
        stmt = select(Event.reason, Event.data).where(
            Event.patient_id == patient_id, Event.kind == kind
        )
        return [tuple(row) for row in uow.session.execute(stmt.order_by(Event.id))]


def open_referral_ids(ctx: Context, cpr: str) -> set[int]:
    page, _ = referral_queries.list_referrals(
        ctx, referral_queries.ReferralFilter(cpr=cpr, limit=500)
    )
    return {r.id for r in page}


def test_register_cpr_uses_national_issuer_and_parses_birth_and_sex(ctx):
    cpr = random_cpr(female=True)
    view = registration.register_patient(
        ctx, registration.NewPatient(f"{cpr[:6]}-{cpr[6:]}", " Jensen ", "Mette", "AAA"), "tester"
    )
    assert view.cpr == cpr
    assert view.family_name == "Jensen"
    assert view.sex == "F"
    assert view.birth_date.strftime("%d%m%y") == cpr[:6]
    assert view.preferred_site == "AAA"
    assert [(i.kind, i.value, i.issuer) for i in view.identifiers] == [("cpr", cpr, "CPR")]
    assert patient_events(ctx, view.id, "patient.registered")[0][1]["cpr"] == cpr


def test_register_x_ecpr_is_national(ctx):
    number = random_ecpr("1")
    view = registration.register_patient(ctx, registration.NewPatient(number, "Ukendt"), "tester")
    assert [(i.kind, i.issuer) for i in view.identifiers] == [("x-ecpr", "CPR")]


def test_register_d_ecpr_is_issued_by_the_region(ctx):
    number = random_ecpr("0")
    view = registration.register_patient(
        ctx, registration.NewPatient(number.lower(), "Ukendt"), "tester"
    )
    ident = view.identifiers[0]
    assert (ident.kind, ident.value) == ("d-ecpr", number)
    assert ident.issuer == ctx.settings.region_issuer != registration.NATIONAL_ISSUER


def test_register_refuses_a_duplicate_number_and_leaves_one_patient(ctx):
    cpr = new_patient(ctx)
    with pytest.raises(DuplicateIdentifier) as err:
        registration.register_patient(ctx, registration.NewPatient(cpr, "Andersen"), "tester")
    assert err.value.field == "cpr"
    with ctx.uow(readonly=True) as uow:
        assert len(uow.session.scalars(select(Patient)).all()) == 1


@pytest.mark.parametrize(
    ("number", "family", "site", "error", "field"),
    [
        ("3102651234", "Hansen", None, InvalidCpr, "cpr"),
        ("", "  ", None, InvalidValue, "family_name"),
        ("", "Hansen", "ZZZ", UnknownSite, "preferred_site"),
    ],
)
def test_register_refuses_bad_input_and_writes_nothing(ctx, number, family, site, error, field):
    cmd = registration.NewPatient(number or random_cpr(), family, "", site)
    with pytest.raises(error) as err:
        registration.register_patient(ctx, cmd, "tester")
    assert err.value.field == field
    with ctx.uow(readonly=True) as uow:
        assert uow.session.scalars(select(Patient)).first() is None


def test_lookup_by_number_with_dash_spaces_or_lower_case(ctx):
    cpr = new_patient(ctx)
    ecpr = random_ecpr("7")
    registration.register_patient(ctx, registration.NewPatient(ecpr, "Ukendt"), "tester")
    assert registration.get_patient(ctx, f" {cpr[:6]}-{cpr[6:]} ").cpr == cpr
    assert registration.get_patient(ctx, ecpr.lower()).cpr == ecpr
    with pytest.raises(UnknownPatient):
        registration.get_patient(ctx, random_cpr())


def test_merge_moves_referrals_and_old_number_finds_the_survivor(ctx):
    source, target = new_patient(ctx), new_patient(ctx)
    moved = [new_referral(ctx, source).id, new_referral(ctx, source).id]
    kept = new_referral(ctx, target).id
    survivor = patients.merge_patients(ctx, source, target, REASON, "tester")
    source_id = registration.get_patient(ctx, target).merges[0].source_id
    assert survivor.cpr == target
    assert registration.get_patient(ctx, source).id == survivor.id
    assert referral_owner_ids(ctx, [*moved, kept]) == {survivor.id}
    assert open_referral_ids(ctx, source) == {*moved, kept}
    for pid in (source_id, survivor.id):
        ((reason, data),) = patient_events(ctx, pid, "patient.merged")
        assert reason == REASON
        assert sorted(data["moved_referral_ids"]) == sorted(moved)
    assert all(f.count == 0 for f in run_checks(ctx))


def test_merge_of_replacement_number_into_real_cpr(ctx):
    """An unidentified trauma patient is later identified: orders follow (DOMAIN.md §2)."""
    ecpr = random_ecpr("0")
    registration.register_patient(ctx, registration.NewPatient(ecpr, "Ukendt"), "tester")
    ref = new_referral(ctx, ecpr, codes=("UXCC00", "UXRC00"))
    cpr = new_patient(ctx)
    survivor = patients.merge_patients(ctx, ecpr, cpr, REASON, "tester")
    assert referral_queries.get_referral(ctx, ref.id).cpr == cpr
    assert referral_queries.get_referral(ctx, ref.id).patient_id == survivor.id


def test_merge_into_itself_is_refused(ctx):
    cpr = new_patient(ctx)
    with pytest.raises(MergeRefused) as err:
        patients.merge_patients(ctx, cpr, cpr, REASON, "tester")
    assert err.value.field == "target_cpr"


def test_merge_back_into_own_old_number_is_refused(ctx):
    """A's number now finds B, so merging B into A would be B into itself."""
    a, b = new_patient(ctx), new_patient(ctx)
    patients.merge_patients(ctx, a, b, REASON, "tester")
    with pytest.raises(MergeRefused):
        patients.merge_patients(ctx, b, a, REASON, "tester")


def test_merge_into_an_old_number_goes_to_its_survivor(ctx):
    a, b, c = new_patient(ctx), new_patient(ctx), new_patient(ctx)
    ref = new_referral(ctx, c).id
    survivor = patients.merge_patients(ctx, a, b, REASON, "tester")
    assert patients.merge_patients(ctx, c, a, REASON, "tester").id == survivor.id
    assert referral_owner_ids(ctx, [ref]) == {survivor.id}


def test_merge_of_an_already_merged_record_is_refused(ctx):
    a, b, c = new_patient(ctx), new_patient(ctx), new_patient(ctx)
    patients.merge_patients(ctx, a, b, REASON, "tester")
    with pytest.raises(MergeRefused) as err:
        patients.merge_patients(ctx, a, c, REASON, "tester")
    assert err.value.field == "cpr"
    assert registration.get_patient(ctx, a).cpr == b


@pytest.mark.parametrize("reason", ["", "   "])
def test_merge_and_undo_need_a_reason(ctx, reason):
    a, b = new_patient(ctx), new_patient(ctx)
    with pytest.raises(InvalidValue) as err:
        patients.merge_patients(ctx, a, b, reason, "tester")
    assert err.value.field == "reason"
    merge_id = patients.merge_patients(ctx, a, b, REASON, "tester").merges[0].id
    with pytest.raises(InvalidValue):
        patients.undo_merge(ctx, merge_id, reason, "tester")


def test_merge_of_unknown_numbers_names_the_field(ctx):
    known = new_patient(ctx)
    with pytest.raises(UnknownPatient) as err:
        patients.merge_patients(ctx, random_cpr(), known, REASON, "tester")
    assert err.value.field == "cpr"
    with pytest.raises(UnknownPatient) as err:
        patients.merge_patients(ctx, known, random_cpr(), REASON, "tester")
    assert err.value.field == "target_cpr"


def test_undo_moves_back_only_what_the_merge_moved(ctx):
    a, b = new_patient(ctx), new_patient(ctx)
    a_refs = {new_referral(ctx, a).id, new_referral(ctx, a).id}
    b_refs = {new_referral(ctx, b).id}
    merged = patients.merge_patients(ctx, a, b, REASON, "tester")
    # Made after the merge through the old number: it belongs to the survivor.
    later = new_referral(ctx, a).id
    a_view = patients.undo_merge(ctx, merged.merges[0].id, "forkert patient", "tester")
    assert a_view.cpr == a
    assert a_view.merged_into_id is None
    assert registration.get_patient(ctx, a).id == a_view.id != merged.id
    assert open_referral_ids(ctx, a) == a_refs
    assert open_referral_ids(ctx, b) == b_refs | {later}
    for pid in (a_view.id, merged.id):
        assert len(patient_events(ctx, pid, "patient.merge-undone")) == 1
    assert registration.get_patient(ctx, b).merges[0].undone_at == ctx.now()


def test_undo_twice_is_refused(ctx):
    a, b = new_patient(ctx), new_patient(ctx)
    merge_id = patients.merge_patients(ctx, a, b, REASON, "tester").merges[0].id
    patients.undo_merge(ctx, merge_id, "fejl", "tester")
    with pytest.raises(MergeRefused) as err:
        patients.undo_merge(ctx, merge_id, "fejl", "tester")
    assert err.value.value == merge_id


def test_undo_of_unknown_merge_is_not_found(ctx):
    with pytest.raises(NotFound) as err:
        patients.undo_merge(ctx, 987654, "fejl", "tester")
    assert err.value.field == "merge_id"


def test_chained_merges_follow_to_the_last_survivor(ctx):
    a, b, c = new_patient(ctx), new_patient(ctx), new_patient(ctx)
    refs = {new_referral(ctx, x).id for x in (a, b, c)}
    patients.merge_patients(ctx, a, b, REASON, "tester")
    last = patients.merge_patients(ctx, b, c, REASON, "tester")
    assert registration.get_patient(ctx, a).id == last.id
    assert registration.get_patient(ctx, b).id == last.id
    assert referral_owner_ids(ctx, list(refs)) == {last.id}
    assert open_referral_ids(ctx, a) == refs
    assert all(f.count == 0 for f in run_checks(ctx))


def test_undo_is_refused_when_the_survivor_was_merged_again(ctx):
    a, b, c = new_patient(ctx), new_patient(ctx), new_patient(ctx)
    first = patients.merge_patients(ctx, a, b, REASON, "tester").merges[0].id
    patients.merge_patients(ctx, b, c, REASON, "tester")
    with pytest.raises(MergeRefused) as err:
        patients.undo_merge(ctx, first, "fejl", "tester")
    assert "undo that merge first" in err.value.message
    assert registration.get_patient(ctx, a).cpr == c


def test_undo_of_chained_merges_in_reverse_order_restores_everyone(ctx):
    a, b, c = new_patient(ctx), new_patient(ctx), new_patient(ctx)
    refs = {x: {new_referral(ctx, x).id} for x in (a, b, c)}
    first = patients.merge_patients(ctx, a, b, REASON, "tester").merges[0].id
    second = [m.id for m in patients.merge_patients(ctx, b, c, REASON, "tester").merges]
    patients.undo_merge(ctx, second[-1], "fejl", "tester")
    assert open_referral_ids(ctx, b) == refs[a] | refs[b]
    patients.undo_merge(ctx, first, "fejl", "tester")
    for x in (a, b, c):
        assert registration.get_patient(ctx, x).cpr == x
        assert open_referral_ids(ctx, x) == refs[x]
    assert all(f.count == 0 for f in run_checks(ctx))


def test_merge_again_after_undo_makes_a_new_undoable_merge(ctx):
    a, b = new_patient(ctx), new_patient(ctx)
    ref = new_referral(ctx, a).id
    first = patients.merge_patients(ctx, a, b, REASON, "tester").merges[0].id
    patients.undo_merge(ctx, first, "fejl", "tester")
    again = patients.merge_patients(ctx, a, b, REASON, "tester").merges
    assert [m.id for m in again][0] == first and again[-1].id != first
    assert referral_owner_ids(ctx, [ref]) == {registration.get_patient(ctx, b).id}
    with pytest.raises(MergeRefused):
        patients.undo_merge(ctx, first, "fejl", "tester")
    patients.undo_merge(ctx, again[-1].id, "fejl", "tester")
    assert open_referral_ids(ctx, a) == {ref}
