"""Region-wide access: a patient's studies from every site, and the priors of a procedure.

Studies go in as the C-STORE door stores them, from rooms of both sites of the small
region (the calling AE title says which site produced them). The prior rule is the one
``services.archive.priors`` documents: same patient, same body region whatever the modality,
before the procedure's own study once it has arrived, newest first.
"""

from __future__ import annotations

from fastapi.testclient import TestClient
from pydicom.uid import generate_uid

from lysbord.services.archive import priors
from lysbord.services.core.context import Context
from lysbord.services.pathway import procedures
from tests.dicomdata import CT, base_dataset
from tests.helpers import new_patient, new_referral
from tests.integration.api_fixtures import api_fixture, ok, problem  # noqa: F401
from tests.integration.test_reconcile import store


def study(
    ctx: Context,
    cpr: str,
    date: str,
    body_part: str = "",
    *,
    modality: str = "CT",
    ae: str = "AAACT1",
    accession: str = "",
    study_uid: str | None = None,
) -> str:
    """One single-image study of the patient; its Study Instance UID."""
    uid = study_uid or generate_uid()
    ds = base_dataset(
        CT,
        patient_id=cpr,
        patient_name="Hansen^Jens",
        accession=accession,
        study_uid=uid,
        series_uid=generate_uid(),
        modality=modality,
        number=1,
        study_date=date,
        size=8,
    )
    if body_part:
        ds.BodyPartExamined = body_part
    assert store(ctx, ds, ae).status == "stored"
    return uid


def test_regions_widen_composite_and_organ_terms() -> None:
    assert priors.regions(["CHESTABDOMEN"]) == {"CHEST", "ABDOMEN"}
    assert priors.regions(["heart", "Liver"]) == {"CHEST", "ABDOMEN"}
    assert priors.regions(["KNEE"]) == {"KNEE"}
    assert priors.regions(["", " "]) == frozenset()


def test_a_patients_studies_from_every_site(ctx: Context, api: TestClient) -> None:
    cpr = new_patient(ctx)
    alfa = study(ctx, cpr, "20250110", "CHEST", modality="DX", ae="AAADX1")
    beta = study(ctx, cpr, "20250601", "ABDOMEN", ae="BBBCT1")
    study(ctx, new_patient(ctx), "20250701", "CHEST")  # someone else's
    found = priors.patient_studies(ctx, f"{cpr[:6]}-{cpr[6:]}")
    assert [(s.study_uid, s.site) for s in found] == [(beta, "BBB"), (alfa, "AAA")]
    assert found[0].viewer_url == f"/viewer/viewer?StudyInstanceUIDs={beta}"
    body = ok(api.get(f"/api/v1/patients/{cpr}/studies"))
    assert [(s["study_uid"], s["site"], s["body_parts"]) for s in body] == [
        (beta, "BBB", ["ABDOMEN"]),
        (alfa, "AAA", ["CHEST"]),
    ]
    problem(api.get("/api/v1/patients/0101010000/studies"), 404, "cpr")


def test_priors_of_a_procedure_same_region_newest_first(ctx: Context, api: TestClient) -> None:
    cpr = new_patient(ctx)
    proc = new_referral(ctx, cpr, codes=("UXCC00",)).procedures[0]  # CT af thorax: CHEST
    xray = study(ctx, cpr, "20250110", "CHEST", modality="DX", ae="AAADX1")
    study(ctx, cpr, "20250301", "ABDOMEN", ae="BBBCT1")  # another region
    study(ctx, cpr, "20250801", modality="MR", ae="AAAMR1")  # no body part: cannot be placed
    staging = study(ctx, cpr, "20250601", "CHESTABDOMEN", ae="BBBCT1")
    later = study(ctx, cpr, "20261201", "LUNG", ae="BBBCT1")
    study(ctx, new_patient(ctx), "20250701", "CHEST")  # someone else's chest

    link, before = priors.of_procedure(ctx, proc.accession)
    assert link is None  # no images of its own yet: nothing to open
    assert [p.study_uid for p in before] == [later, staging, xray]

    own = study(ctx, cpr, "20261123", "CHEST", accession=proc.accession, study_uid=proc.study_uid)
    link, after = priors.of_procedure(ctx, proc.accession)
    assert [p.study_uid for p in after] == [staging, xray]  # the later study is no prior
    assert link == priors.viewer_url(own, staging, xray)
    assert [p.site for p in after] == ["BBB", "AAA"]

    detail = procedures.get_procedure(ctx, proc.accession)
    assert detail.viewer_url == link and detail.priors == after
    body = ok(api.get(f"/api/v1/procedures/{proc.accession}"))
    assert body["viewer_url"] == link
    assert [(p["study_uid"], p["body_parts"]) for p in body["priors"]] == [
        (staging, ["CHESTABDOMEN"]),
        (xray, ["CHEST"]),
    ]
