"""Studies over HTTP: the unmatched queue, assigning a study, and the study list.

Images go in through the archive service (as the C-STORE door stores them); every
other step, and every refusal, goes through the REST API.
"""

from __future__ import annotations

import dataclasses

from fastapi.testclient import TestClient

from lysbord.app import create_app
from lysbord.config import DicomPeer
from lysbord.domain.access import Role
from lysbord.services.operations.check import run_checks
from lysbord.services.pathway.mpps import ScheduledRef
from tests.helpers import random_cpr
from tests.integration.api_fixtures import (  # noqa: F401
    anon_fixture,
    api_as_fixture,
    api_fixture,
    ok,
    problem,
    procedure,
    register,
)
from tests.integration.test_mpps_service import AE, started, uid
from tests.integration.test_reconcile import booked, send
from tests.web_fixtures import bearer

WHY = "tastefejl på modaliteten"


def assign(api, uid: str, **body):
    body.setdefault("reason", WHY)
    return api.post(f"/api/v1/unmatched-studies/{uid}/assign", json=body)


def unmatched(api, **params) -> dict:
    return ok(api.get("/api/v1/unmatched-studies", params=params))


def listed(api, **params) -> list[str]:
    return [s["study_uid"] for s in ok(api.get("/api/v1/studies", params=params))["items"]]


def test_unmatched_queue_newest_first_with_what_was_received(api, ctx, clock):
    stranger = random_cpr()
    older, _ = send(ctx, patient_id=stranger, accession="XX1", name="Doe^John", count=3)
    clock.advance(minutes=5)
    newer, _ = send(ctx, patient_id="", accession="", ae="SOMEWHERE")
    page = unmatched(api)
    assert page["total"] == 2 and [s["study_uid"] for s in page["items"]] == [newer, older]
    first = page["items"][1]
    assert (first["patient_key"], first["patient_name"], first["accession"]) == (
        stranger,
        "Doe^John",
        "XX1",
    )
    assert first["unmatched_reason"].startswith(f"unknown patient '{stranger}'")
    assert (first["site"], first["calling_ae"], first["status"]) == ("AAA", "AAACT1", "unmatched")
    assert (first["series_count"], first["instance_count"], first["modalities"]) == (1, 3, ["CT"])
    assert first["received_at"].startswith("2026-11-23T07:00:00")
    assert page["items"][0]["unmatched_reason"] == "no PatientID and no accession number"
    paged = unmatched(api, limit=1, offset=1)
    assert [s["study_uid"] for s in paged["items"]] == [older] and paged["total"] == 2


def test_site_falls_back_to_the_calling_aes_configured_peer(ctx):
    uid, _ = send(ctx, patient_id=random_cpr(), ae="MOBILE1")
    peer = DicomPeer(ae_title="MOBILE1", host="127.0.0.1", port=104, site="BBB")
    settings = ctx.settings.model_copy(update={"dicom_peers": [peer]})
    headers = bearer(ctx)
    with TestClient(
        create_app(dataclasses.replace(ctx, settings=settings)), headers=headers
    ) as api:
        assert ok(api.get(f"/api/v1/studies/{uid}"))["site"] == "BBB"
    with TestClient(create_app(ctx), headers=headers) as api:
        assert ok(api.get(f"/api/v1/studies/{uid}"))["site"] is None


def test_assign_to_an_accession_links_and_corrects_the_study(api, ctx):
    patient = register(api, family_name="Ærø", given_name="Søren")
    accession, _ = booked(ctx, patient["cpr"])
    wrong = random_cpr()
    uid, _ = send(ctx, patient_id=wrong, accession="WRONG7", name="X^Y")
    study = ok(assign(api, uid, accession=accession))
    assert (study["status"], study["unmatched_reason"]) == ("linked", None)
    assert (study["patient_key"], study["patient_name"], study["accession"]) == (
        patient["cpr"],
        "Ærø^Søren",
        accession,
    )
    assert (study["received_patient_key"], study["received_accession"]) == (wrong, "WRONG7")
    assert (study["procedure_accession"], study["procedure_state"]) == (accession, "booked")
    detail = procedure(api, accession)
    assert detail["procedure"]["images_received_at"] is not None
    assert detail["procedure"]["study"]["study_uid"] == uid
    assert detail["procedure"]["study"]["instance_count"] == 2
    event = next(e for e in detail["events"] if e["kind"] == "study.assigned")
    assert (event["actor"], event["reason"]) == ("api.tester", WHY)
    assert event["data"]["from"] == {
        "patient_key": wrong,
        "patient_name": "X^Y",
        "accession": "WRONG7",
    }
    assert event["data"]["to"]["accession"] == accession
    assert unmatched(api)["total"] == 0
    assert all(f.count == 0 for f in run_checks(ctx))


def test_assign_to_a_patient_only_leaves_the_queue_without_a_procedure(api, ctx):
    patient = register(api, family_name="Berg", given_name="")
    external, _ = send(ctx, patient_id=patient["cpr"], accession="EXT-123", ae="OTHERHOSP")
    study = ok(assign(api, external, cpr=patient["cpr"]))
    assert (study["status"], study["procedure_accession"], study["unmatched_reason"]) == (
        "patient",
        None,
        None,
    )
    assert (study["patient_key"], study["patient_name"], study["accession"]) == (
        patient["cpr"],
        "Berg",
        "EXT-123",
    )
    someone_elses, _ = booked(ctx)
    mixed, _ = send(ctx, patient_id=patient["cpr"], accession=someone_elses)
    assert "another patient's" in unmatched(api)["items"][0]["unmatched_reason"]
    study = ok(assign(api, mixed, cpr=patient["cpr"]))
    assert (study["accession"], study["received_accession"]) == ("", someone_elses)
    assert unmatched(api)["total"] == 0
    assert procedure(api, someone_elses)["procedure"]["study"] is None
    assert all(f.count == 0 for f in run_checks(ctx))


def test_moving_a_linked_study_must_be_asked_for_and_the_old_procedure_waits_again(api, ctx):
    cpr = register(api)["cpr"]
    first, _ = booked(ctx, cpr)
    second, _ = booked(ctx, cpr, code="UXMA00")
    uid, _ = send(ctx, patient_id=cpr, accession=first)
    problem(assign(api, uid, accession=second), 409, "reassign")
    study = ok(assign(api, uid, accession=second, reassign=True))
    assert (study["procedure_accession"], study["accession"]) == (second, second)
    old = procedure(api, first)
    assert old["procedure"]["images_received_at"] is None and old["procedure"]["study"] is None
    assert "procedure.images-unlinked" in [e["kind"] for e in old["events"]]
    assert procedure(api, second)["procedure"]["study"]["study_uid"] == uid
    study = ok(assign(api, uid, cpr=cpr, reassign=True))
    assert (study["status"], study["accession"]) == ("patient", "")  # ours would mislead
    assert all(f.count == 0 for f in run_checks(ctx))


def test_assign_refusals_name_the_field(api, anon, ctx):
    cpr = register(api)["cpr"]
    taken, _ = booked(ctx, cpr)
    send(ctx, patient_id=cpr, accession=taken)
    uid, _ = send(ctx, patient_id=random_cpr())
    problem(assign(api, "1.2.3.4.5", accession=taken), 404, "study_uid")
    problem(assign(api, uid, accession="NOSUCH1"), 422, "accession")
    problem(assign(api, uid, cpr=random_cpr()), 422, "cpr")
    problem(assign(api, uid), 422, "accession")
    problem(assign(api, uid, accession=taken, cpr=cpr), 422, "cpr")
    problem(assign(api, uid, accession=taken), 409, "accession")  # it has another study
    problem(assign(api, uid, accession=taken, reason=""), 422, "reason")
    no_user = anon.post(f"/api/v1/unmatched-studies/{uid}/assign", json={"cpr": cpr, "reason": WHY})
    problem(no_user, 401, "Authorization")
    assert unmatched(api)["items"][0]["study_uid"] == uid  # nothing was written


def test_reported_procedure_keeps_its_images(api, ctx):
    cpr = register(api)["cpr"]
    accession, _ = booked(ctx, cpr)
    other, _ = booked(ctx, cpr, code="UXMA00")
    uid, _ = send(ctx, patient_id=cpr, accession=accession)
    for action in ("arrive", "start", "complete", "report"):
        ok(api.post(f"/api/v1/procedures/{accession}/{action}"))
    body = problem(assign(api, uid, accession=other, reassign=True), 409, "reassign")
    assert "reported" in body["reason"]


def test_study_list_filters(api, ctx):
    cpr = register(api)["cpr"]
    accession, day = booked(ctx, cpr)
    ct, _ = send(ctx, patient_id=cpr, accession=accession, study_date=day)
    mr, _ = send(ctx, patient_id=cpr, modality="MR", study_date="20261201", accession="EXT9")
    stranger = random_cpr()
    lost, _ = send(ctx, patient_id=stranger, study_date="20261124")
    assert set(listed(api, cpr=cpr)) == {ct, mr}
    assert listed(api, cpr=stranger) == [lost]  # no patient yet: by the number received
    assert listed(api, accession=accession) == [ct]
    assert listed(api, accession="EXT9") == [mr]
    assert listed(api, modality="mr") == [mr]
    assert listed(api, **{"from": "2026-12-01"}) == [mr]
    assert listed(api, **{"from": "2026-11-24", "to": "2026-11-24"}) == [lost]
    page = ok(api.get("/api/v1/studies", params={"limit": 2, "offset": 0}))
    assert page["total"] == 3 and page["items"][0]["study_uid"] == mr  # newest study first
    item = next(
        s
        for s in ok(api.get("/api/v1/studies", params={"cpr": cpr}))["items"]
        if s["study_uid"] == ct
    )
    assert (item["procedure_accession"], item["procedure_state"], item["site"]) == (
        accession,
        "booked",
        "AAA",
    )
    problem(
        api.get("/api/v1/studies", params={"from": "2026-12-02", "to": "2026-12-01"}), 422, "to"
    )
    problem(api.get("/api/v1/studies/1.2.3.4"), 404, "study_uid")


def test_unmatched_mpps_steps_for_radiographers_and_managers(api, api_as, anon, ctx):
    thorax, _ = booked(ctx)
    started(ctx, first := uid(), ScheduledRef(accession=thorax), ScheduledRef("NOSUCH9"))
    started(ctx, uid(), ScheduledRef(accession="NOSUCH8"))
    page = ok(api_as(Role.radiographer).get("/api/v1/mpps/unmatched", params={"limit": 1}))
    assert (page["total"], page["limit"], len(page["items"])) == (2, 1, 1)
    item = page["items"][0]
    assert (item["mpps_uid"], item["calling_ae"], item["accessions"]) == (first, AE, [thorax])
    assert "NOSUCH9" in item["unmatched_reason"] and item["started_at"].endswith("Z")
    assert ok(api_as(Role.manager).get("/api/v1/mpps/unmatched"))["total"] == 2
    problem(api_as(Role.booking_clerk).get("/api/v1/mpps/unmatched"), 403, None)
    problem(anon.get("/api/v1/mpps/unmatched"), 401, "Authorization")
    problem(api.get("/api/v1/mpps/unmatched", params={"limit": 0}), 422, "limit")
