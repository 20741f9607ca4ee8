"""`lysbord check` over the archive: blobs intact, every study placed, conflicts surfaced.

Breakages are made on purpose behind the services' back (raw SQL, a deleted or
overwritten blob file), the way a disk fault, a manual fix or a bug elsewhere would.
"""

from __future__ import annotations

from pathlib import Path

from pydicom.uid import generate_uid
from sqlalchemy import select, text
from typer.testing import CliRunner

from lysbord.cli import app
from lysbord.services.archive import assignment
from lysbord.services.core.context import Context
from lysbord.services.operations.check import RULES, Finding, run_checks
from lysbord.services.operations.check_archive import BLOBS, CONFLICTS, STUDY_AGREES, STUDY_PLACED
from lysbord.services.people import patients, registration
from lysbord.store.archive_models import Instance
from tests.dicomdata import CT, base_dataset
from tests.helpers import new_patient, random_cpr
from tests.integration.test_reconcile import blobs, booked, send, store

MERGED_NO_STUDIES = "merged records hold no studies"


def broken(ctx: Context, **kwargs) -> dict[str, Finding]:
    return {f.rule: f for f in run_checks(ctx, **kwargs) if f.count}


def sql(ctx: Context, statement: str, **params) -> None:
    with ctx.db.engine.begin() as conn:
        conn.execute(text(statement), params)


def linked_study(ctx: Context) -> tuple[str, str, str]:
    """(cpr, accession, study uid) of a booked procedure with its images."""
    cpr = new_patient(ctx)
    accession, _ = booked(ctx, cpr)
    uid, _ = send(ctx, patient_id=cpr, accession=accession)
    return cpr, accession, uid


def test_archive_rules_hold_after_normal_use(ctx):
    cpr, _, _ = linked_study(ctx)
    send(ctx, patient_id=random_cpr())  # unmatched
    alone, _ = send(ctx, patient_id=cpr, accession="EXT1")
    assignment.assign_study(ctx, alone, assignment.Assignment("ekstern", cpr=cpr), "tester")
    source, _, _ = linked_study(ctx)
    patients.merge_patients(ctx, source, cpr, "samme person", "tester")
    seen: list[tuple[int, int]] = []
    findings = run_checks(ctx, progress=lambda done, total: seen.append((done, total)))
    assert [f.rule for f in findings] == list(RULES)
    assert [(f.rule, f.examples) for f in findings if f.count] == []
    assert seen[-1] == (8, 8)  # four studies of two instances, every blob read


def test_skipping_blobs_leaves_that_rule_out(ctx):
    send(ctx, patient_id=random_cpr())
    assert BLOBS not in [f.rule for f in run_checks(ctx, blobs=False)]


def test_study_of_another_patient_than_its_procedure_is_reported(ctx):
    _, accession, uid = linked_study(ctx)
    other = registration.get_patient(ctx, new_patient(ctx)).id
    sql(ctx, "UPDATE studies SET patient_id = :p WHERE study_uid = :u", p=other, u=uid)
    found = broken(ctx, blobs=False)
    assert list(found) == [STUDY_AGREES]
    assert found[STUDY_AGREES].examples[0].startswith(f"study {uid} is patient {other}'s")


def test_procedure_with_a_study_but_no_images_received_is_reported(ctx):
    _, accession, uid = linked_study(ctx)
    sql(ctx, "UPDATE procedures SET images_received_at = NULL WHERE accession = :a", a=accession)
    assert broken(ctx, blobs=False)[STUDY_AGREES].examples == [
        f"procedure {accession} has study {uid} but no images received"
    ]


def test_procedure_with_two_studies_is_reported(ctx):
    cpr, accession, uid = linked_study(ctx)
    second, _ = send(ctx, patient_id=cpr, accession=accession)  # queued: it has one
    sql(
        ctx,
        "UPDATE studies SET procedure_id = (SELECT procedure_id FROM studies WHERE"
        " study_uid = :u), unmatched_reason = NULL WHERE study_uid = :s",
        u=uid,
        s=second,
    )
    assert f"procedure {accession} has 2 studies" in broken(ctx, blobs=False)[STUDY_AGREES].examples


def test_study_nowhere_is_reported(ctx):
    lost, _ = send(ctx, patient_id=random_cpr())
    blank, _ = send(ctx, patient_id=random_cpr())
    _, _, both = linked_study(ctx)
    sql(ctx, "UPDATE studies SET unmatched_reason = NULL WHERE study_uid = :u", u=lost)
    sql(ctx, "UPDATE studies SET unmatched_reason = ' ' WHERE study_uid = :u", u=blank)
    sql(ctx, "UPDATE studies SET unmatched_reason = 'x' WHERE study_uid = :u", u=both)
    found = broken(ctx, blobs=False)
    assert list(found) == [STUDY_PLACED]
    assert sorted(found[STUDY_PLACED].examples) == sorted(
        [
            f"study {lost} has no procedure, is not in the unmatched queue,"
            " and no person assigned it to a patient",
            f"study {blank} is unmatched without a reason",
            f"study {both} is linked to a procedure yet unmatched (x)",
        ]
    )


def test_patient_only_study_without_an_assignment_is_reported(ctx):
    cpr = new_patient(ctx)
    uid, _ = send(ctx, patient_id=cpr)  # known patient, no procedure: queued
    sql(ctx, "UPDATE studies SET unmatched_reason = NULL WHERE study_uid = :u", u=uid)
    assert list(broken(ctx, blobs=False)) == [STUDY_PLACED]
    assignment.assign_study(
        ctx, uid, assignment.Assignment("ekstern", cpr=cpr, reassign=True), "tester"
    )
    assert broken(ctx, blobs=False) == {}


def test_merged_record_still_holding_a_study_is_reported(ctx):
    source, target = new_patient(ctx), new_patient(ctx)
    uid, _ = send(ctx, patient_id=source)
    view = patients.merge_patients(ctx, source, target, "samme person", "tester")
    old = view.merges[0].source_id
    sql(ctx, "UPDATE studies SET patient_id = :p WHERE study_uid = :u", p=old, u=uid)
    assert broken(ctx, blobs=False)[MERGED_NO_STUDIES].examples == [
        f"merged patient {old} still holds 1 studies"
    ]


def test_unresolved_instance_conflict_is_reported_until_resolved(ctx):
    ds = base_dataset(
        CT,
        patient_id=random_cpr(),
        patient_name="A^B",
        accession="",
        study_uid=generate_uid(),
        series_uid=generate_uid(),
        modality="CT",
        number=1,
        size=8,
    )
    store(ctx, ds)
    ds.StudyDescription = "changed after sending"
    outcome = store(ctx, ds)
    assert outcome.status == "conflict"
    found = broken(ctx)
    assert list(found) == [CONFLICTS]
    example = found[CONFLICTS].examples[0]
    assert example.startswith(f"instance {ds.SOPInstanceUID} came again with other content")
    assert example.endswith(f"(conflict {outcome.conflict_id})")
    sql(ctx, "UPDATE instance_conflicts SET resolved_at = received_at")
    assert broken(ctx) == {}


def run_cli(database_url: str, data_dir: Path, *flags: str) -> tuple[int, str]:
    args = ["check", "--database-url", database_url, "--data-dir", str(data_dir), *flags]
    result = CliRunner().invoke(app, args)
    return result.exit_code, "".join(result.output.split())  # rich wraps long lines


def test_cli_names_a_missing_and_a_corrupted_blob(ctx, database_url):
    _, _, uid = linked_study(ctx)
    code, output = run_cli(database_url, ctx.settings.data_dir)
    assert code == 0 and "Allinvariantshold" in output
    with ctx.uow(readonly=True) as uow:
        rows = uow.session.execute(
            select(Instance.sop_instance_uid, Instance.blob_key).order_by(Instance.id)
        ).all()
    (gone_uid, gone_key), (bad_uid, bad_key) = rows
    blobs(ctx).path(gone_key).unlink()
    corrupted = blobs(ctx).path(bad_key)
    corrupted.write_bytes(corrupted.read_bytes()[:-1] + b"\xff")
    code, output = run_cli(database_url, ctx.settings.data_dir)
    assert code == 1
    assert "".join(BLOBS.split()) in output
    assert f"instance{gone_uid}ofstudy{uid}:blob{gone_key}:missing" in output
    assert f"instance{bad_uid}ofstudy{uid}:blob{bad_key}:contentdoesnotmatchitshash" in output
    code, output = run_cli(database_url, ctx.settings.data_dir, "--skip-blobs")
    assert code == 0 and "Imageblobsnotread" in output
