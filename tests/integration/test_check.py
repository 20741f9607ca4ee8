"""`lysbord check`: every rule holds after normal use, and each one catches its breakage.

Breakages are made on purpose with raw SQL behind the services' back, the way a bad
migration, a manual fix in the database or a bug elsewhere would make them.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import Connection, bindparam, insert, select, text
from typer.testing import CliRunner

from lysbord.cli import app
from lysbord.domain.priorities import Priority
from lysbord.services.core.context import Context
from lysbord.services.operations.check import RULES, Finding, run_checks
from lysbord.services.pathway import booking, procedures
from lysbord.services.pathway.procedures import Action
from lysbord.services.pathway.views import ReferralView
from lysbord.services.people import patients, registration
from lysbord.store.models import Appointment, Referral
from lysbord.store.types import UtcDateTime
from tests.helpers import new_patient, new_referral

WHY = "klinisk begrundelse"
OPEN_HAS_PROCEDURE = "every open referral has a procedure"
ONE_QUEUE = "every open referral is in exactly one queue"
CLOSED_ENDED = "every closed referral has ended, with a reason"
SLOT_HELD = "booked procedures hold exactly one slot, others none"
NO_DOUBLE = "no slot is booked twice"
HISTORY = "every state is the end of its recorded history"
MERGED_EMPTY = "merged records hold no referrals"
SITE_CONTACT = "every site has a contact for its appointments"


def broken(ctx: Context) -> dict[str, Finding]:
    return {f.rule: f for f in run_checks(ctx) if f.count}


@contextmanager
def raw(ctx: Context) -> Iterator[Connection]:
    with ctx.db.engine.begin() as conn:
        yield conn


def book(ctx: Context, acc: str, nth: int = 0) -> int:
    offer = booking.find_slots(ctx, booking.SlotSearch(acc, limit=nth + 1))[nth]
    return booking.book(ctx, acc, offer.slot_id, "tester").id


def busy_region(ctx: Context) -> list[ReferralView]:
    """A bit of everything the services can do, so the rules see every state."""
    refs = [new_referral(ctx, codes=("UXCC00", "UXRC00")) for _ in range(3)]
    a, b, c = ([p.accession for p in r.procedures] for r in refs)
    book(ctx, a[0])
    book(ctx, a[0], 1)  # rebooked
    appt = book(ctx, a[1])
    booking.cancel_appointment(ctx, appt, "patienten ringede", "tester")
    procedures.act(ctx, a[1], Action.HOLD, "tester", WHY)
    procedures.act(ctx, a[1], Action.RELEASE, "tester")
    for acc, steps in ((b[0], ["arrive", "start", "complete"]), (b[1], ["no-show"])):
        book(ctx, acc)
        for step in steps:
            procedures.act(ctx, acc, Action(step), "tester", WHY)
    procedures.mark_images_received(ctx, b[0], "pacs")
    procedures.act(ctx, b[0], Action.REPORT, "radiolog")
    book(ctx, c[0])
    for step in ("arrive", "start", "discontinue"):
        procedures.act(ctx, c[0], Action(step), "tester", WHY)
    procedures.act(ctx, c[1], Action.CANCEL, "tester", WHY)
    source, target = new_patient(ctx), new_patient(ctx)
    new_referral(ctx, source, priority=Priority.ACUTE)
    patients.merge_patients(ctx, source, target, "samme person", "tester")
    return refs


def test_every_rule_holds_after_normal_use(ctx, clock):
    busy_region(ctx)
    clock.advance(days=40)  # overdue referrals are a flag, not a broken invariant
    findings = run_checks(ctx)
    assert [f.rule for f in findings] == list(RULES)
    assert [(f.rule, f.count, f.examples) for f in findings if f.count] == []


def test_empty_database_holds(bare_ctx):
    assert broken(bare_ctx) == {}


def test_a_site_without_contact_is_reported(ctx):
    """As a site made before migration 0011 is: its SIUs would lack SCH-16."""
    with raw(ctx) as conn:
        conn.execute(text("UPDATE sites SET contact_name = NULL WHERE code = 'BBB'"))
    found = broken(ctx)
    assert list(found) == [SITE_CONTACT]
    assert found[SITE_CONTACT].examples == [
        "site BBB has no contact name and telephone for its appointments"
    ]


def test_open_referral_without_procedure_is_reported(ctx):
    ref = new_referral(ctx)
    with raw(ctx) as conn:
        new_id = conn.execute(
            insert(Referral.__table__).returning(Referral.__table__.c.id),
            {
                "patient_id": ref.patient_id,
                "referring_unit": "x",
                "clinical_question": "x",
                "priority": "routine",
                "received_at": ref.received_at,
                "due_at": ref.due_at,
                "created_by": "sql",
            },
        ).scalar_one()
    found = broken(ctx)
    assert list(found) == [OPEN_HAS_PROCEDURE]
    assert found[OPEN_HAS_PROCEDURE].examples == [f"referral {new_id} is open with no procedure"]


def test_open_referral_whose_procedures_all_ended_is_reported(ctx):
    ref = new_referral(ctx)
    procedures.act(ctx, ref.procedures[0].accession, Action.CANCEL, "tester", WHY)
    assert broken(ctx) == {}
    with raw(ctx) as conn:
        conn.execute(
            text("UPDATE referrals SET closed_at = NULL, close_reason = NULL WHERE id = :id"),
            {"id": ref.id},
        )
    found = broken(ctx)
    assert list(found) == [ONE_QUEUE]
    assert found[ONE_QUEUE].examples == [f"referral {ref.id} is open but every procedure has ended"]


def test_closed_referral_with_an_open_procedure_is_reported(ctx):
    ref = new_referral(ctx, codes=("UXCC00", "UXMA00"))
    procedures.act(ctx, ref.procedures[0].accession, Action.CANCEL, "tester", WHY)
    close = text("UPDATE referrals SET closed_at = :at, close_reason = 'done' WHERE id = :id")
    with raw(ctx) as conn:
        conn.execute(
            close.bindparams(bindparam("at", type_=UtcDateTime())), {"at": ctx.now(), "id": ref.id}
        )
    found = broken(ctx)
    assert list(found) == [CLOSED_ENDED]
    acc = ref.procedures[1].accession
    assert found[CLOSED_ENDED].examples == [
        f"referral {ref.id} is closed but procedure {acc} is requested"
    ]


@pytest.mark.parametrize("blank", [None, ""])
def test_closed_referral_without_a_reason_is_reported(ctx, blank):
    ref = new_referral(ctx)
    procedures.act(ctx, ref.procedures[0].accession, Action.CANCEL, "tester", WHY)
    with raw(ctx) as conn:
        conn.execute(
            text("UPDATE referrals SET close_reason = :r WHERE id = :id"),
            {"r": blank, "id": ref.id},
        )
    found = broken(ctx)
    assert list(found) == [CLOSED_ENDED]
    assert found[CLOSED_ENDED].examples == [f"referral {ref.id} is closed without a reason"]


def test_booked_procedure_without_an_active_appointment_is_reported(ctx):
    ref = new_referral(ctx)
    acc = ref.procedures[0].accession
    appt = book(ctx, acc)
    with raw(ctx) as conn:
        conn.execute(
            text("UPDATE appointments SET active = :no WHERE id = :id"), {"no": False, "id": appt}
        )
    found = broken(ctx)
    assert list(found) == [SLOT_HELD]
    assert found[SLOT_HELD].examples == [
        f"procedure {acc} is booked without exactly one active appointment"
    ]


def test_cancelled_appointment_that_still_holds_the_slot_is_reported(ctx):
    acc = new_referral(ctx).procedures[0].accession
    appt = book(ctx, acc)
    booking.cancel_appointment(ctx, appt, "aflyst", "tester")
    with raw(ctx) as conn:
        conn.execute(
            text("UPDATE appointments SET active = :yes WHERE id = :id"), {"yes": True, "id": appt}
        )
    found = broken(ctx)
    assert list(found) == [SLOT_HELD]
    assert found[SLOT_HELD].examples == [f"procedure {acc} is requested but still holds a slot"]


def test_double_booked_slot_is_reported(ctx):
    """Only possible without the unique index: drop it for the test, then put it back."""
    first, second = (new_referral(ctx).procedures[0].accession for _ in range(2))
    appt1, appt2 = book(ctx, first), book(ctx, second)
    index = next(i for i in Appointment.__table__.indexes if i.name == "ux_appointment_active_slot")
    with raw(ctx) as conn:
        slot1 = conn.scalar(select(Appointment.slot_id).where(Appointment.id == appt1))
        slot2 = conn.scalar(select(Appointment.slot_id).where(Appointment.id == appt2))
        index.drop(conn)
        conn.execute(
            text("UPDATE appointments SET slot_id = :s WHERE id = :id"), {"s": slot1, "id": appt2}
        )
    try:
        found = broken(ctx)
    finally:
        with raw(ctx) as conn:
            conn.execute(
                text("UPDATE appointments SET slot_id = :s WHERE id = :id"),
                {"s": slot2, "id": appt2},
            )
            index.create(conn)
    assert list(found) == [NO_DOUBLE]
    assert found[NO_DOUBLE].examples == [f"slot {slot1} has 2 active appointments"]
    assert broken(ctx) == {}


def test_state_changed_without_an_event_is_reported(ctx):
    acc = new_referral(ctx).procedures[0].accession
    book(ctx, acc)
    with raw(ctx) as conn:
        conn.execute(
            text("UPDATE procedures SET state = 'arrived' WHERE accession = :a"), {"a": acc}
        )
    found = broken(ctx)
    assert list(found) == [HISTORY]
    assert found[HISTORY].examples == [f"procedure {acc} is arrived but its history ends in booked"]


def test_merged_record_still_holding_a_referral_is_reported(ctx):
    source, target = new_patient(ctx), new_patient(ctx)
    ref = new_referral(ctx, source)
    patients.merge_patients(ctx, source, target, "samme person", "tester")
    old_id = registration.get_patient(ctx, target).merges[0].source_id
    with raw(ctx) as conn:
        conn.execute(
            text("UPDATE referrals SET patient_id = :p WHERE id = :id"), {"p": old_id, "id": ref.id}
        )
    found = broken(ctx)
    assert list(found) == [MERGED_EMPTY]
    assert found[MERGED_EMPTY].examples == [f"merged patient {old_id} still holds 1 referrals"]


def test_count_is_complete_while_examples_are_capped(ctx):
    refs = [new_referral(ctx) for _ in range(23)]
    with raw(ctx) as conn:
        conn.execute(text("UPDATE procedures SET state = 'on-hold'"))
    found = broken(ctx)[HISTORY]
    assert found.count == len(refs) and len(found.examples) == 20


# --- the command line ----------------------------------------------------------------------


def run_cli(database_url: str, data_dir: Path) -> tuple[int, str]:
    result = CliRunner().invoke(
        app, ["check", "--database-url", database_url, "--data-dir", str(data_dir)]
    )
    return result.exit_code, result.output


def test_cli_exits_0_when_every_rule_holds(ctx, database_url, tmp_path):
    busy_region(ctx)
    code, output = run_cli(database_url, tmp_path / "var")
    assert code == 0, output
    assert "All invariants hold" in output


def test_cli_exits_1_and_names_the_broken_rule(ctx, database_url, tmp_path):
    acc = new_referral(ctx).procedures[0].accession
    book(ctx, acc)
    with raw(ctx) as conn:
        conn.execute(
            text("UPDATE procedures SET state = 'arrived' WHERE accession = :a"), {"a": acc}
        )
    code, output = run_cli(database_url, tmp_path / "var")
    assert code == 1, output
    assert HISTORY in output
    assert f"procedure {acc} is arrived but its history ends in booked" in output
    assert "All invariants hold" not in output
