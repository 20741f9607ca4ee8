"""The demo's images: every procedure with images has a study that opens, over DICOMweb.

A demo as small as it gets (20 patients, every fate at least once), then, for each
procedure at "images received" or later, the study its "Vis billeder" link names is
found by QIDO-RS and one of its frames renders through WADO-RS to a non-blank image.
"""

from __future__ import annotations

import io
from collections import defaultdict
from typing import Any
from urllib.parse import parse_qs, urlsplit

import numpy as np
from fastapi.testclient import TestClient
from PIL import Image
from rich.console import Console
from sqlalchemy import select

from lysbord.app import create_app
from lysbord.demo import build_demo
from lysbord.domain.calendar import local_date
from lysbord.domain.cpr import age_on
from lysbord.services.core.context import Context
from lysbord.services.operations.check import run_checks
from lysbord.services.pathway import procedures, reports
from lysbord.store.archive_models import Study
from lysbord.store.models import Patient, Procedure, ProcedureCode, Referral, Site
from tests.demo_referrals import incoherent
from tests.dicomweb.helpers import without_sign_in

SMALL = {"scale": 0.001, "seed": 1, "days_before": 21, "days_after": 10}


def test_a_small_demo_with_images(bare_ctx: Context) -> None:
    """One demo (the slow part), three properties of it."""
    build_demo(bare_ctx, console=Console(file=io.StringIO()), **SMALL)  # type: ignore[arg-type]
    with TestClient(create_app(without_sign_in(bare_ctx))) as client:
        every_procedure_with_images_opens_them(bare_ctx, client)
    a_case_awaiting_its_report_has_a_reported_prior_from_another_site(bare_ctx)
    every_demo_referral_is_clinically_coherent(bare_ctx)


def every_procedure_with_images_opens_them(bare_ctx: Context, demo: TestClient) -> None:
    with bare_ctx.uow(readonly=True) as uow:
        done = uow.session.execute(
            select(Procedure.accession, Procedure.state, Procedure.study_uid).where(
                Procedure.images_received_at.is_not(None)
            )
        ).all()
        linked = set(uow.session.scalars(select(Study.procedure_id)))
        ids = set(
            uow.session.scalars(
                select(Procedure.id).where(Procedure.images_received_at.is_not(None))
            )
        )
    assert len(done) >= 2 and {state for _, state, _ in done} >= {"completed", "reported"}
    assert ids <= linked  # each arrived as images, none was only said to have
    for accession, _state, study_uid in done:
        link = procedures.get_procedure(bare_ctx, accession).viewer_url
        assert link is not None, accession
        uids = parse_qs(urlsplit(link).query)["StudyInstanceUIDs"][0].split(",")
        assert uids[0] == study_uid  # the reading list links the procedure's own UID
        for uid in uids:  # the current study, and any prior shown beside it
            _opens(demo, uid)
    assert [f for f in run_checks(bare_ctx) if f.count] == []


def a_case_awaiting_its_report_has_a_reported_prior_from_another_site(bare_ctx: Context) -> None:
    with bare_ctx.uow(readonly=True) as uow:
        waiting = uow.session.scalars(
            select(Procedure.accession).where(
                Procedure.state == "completed", Procedure.images_received_at.is_not(None)
            )
        ).all()
    cases = [procedures.get_procedure(bare_ctx, acc) for acc in waiting if acc]
    with_priors = [c for c in cases if c.priors]
    assert with_priors, "no case awaiting its report has an earlier study"
    case = with_priors[0]
    prior = case.priors[0]
    with bare_ctx.uow(readonly=True) as uow:
        site, day = uow.session.execute(
            select(Site.code, Study.study_date)
            .join(Site, Site.id == Study.site_id)
            .join(Procedure, Procedure.id == Study.procedure_id)
            .where(Procedure.accession == case.procedure.accession)
        ).one()
    assert prior.site and site not in prior.site  # another hospital's
    assert prior.study_date < day
    assert prior.accession in reports.signed_of_accessions(bare_ctx, [prior.accession])


def every_demo_referral_is_clinically_coherent(bare_ctx: Context) -> None:
    with bare_ctx.uow(readonly=True) as uow:
        rows = uow.session.execute(
            select(
                Referral.id,
                Referral.referring_unit,
                Referral.clinical_question,
                Patient.sex,
                Patient.birth_date,
                ProcedureCode.code,
                ProcedureCode.modality,
                ProcedureCode.body_part,
            )
            .join(Patient, Patient.id == Referral.patient_id)
            .join(Procedure, Procedure.referral_id == Referral.id)
            .join(ProcedureCode, ProcedureCode.code == Procedure.code)
        ).all()
    referrals: dict[int, list[Any]] = defaultdict(list)
    for row in rows:
        referrals[row.id].append(row)
    today = local_date(bare_ctx.now())
    wrong = []
    for procs in referrals.values():
        r = procs[0]
        age = age_on(r.birth_date, today)
        codes = [(p.code, p.modality, p.body_part) for p in procs]
        why = incoherent(r.referring_unit, r.clinical_question, codes, r.sex, age)
        if why:
            wrong.append(why)
    assert len(referrals) > 20 and wrong == []


def _opens(client: TestClient, study_uid: str) -> None:
    """QIDO finds the study's instances; the middle one's first frame renders, not blank."""
    found = client.get(f"/dicomweb/studies/{study_uid}/instances")
    assert found.status_code == 200, found.text
    instances = found.json()
    assert instances, study_uid
    one = instances[len(instances) // 2]
    series, sop = one["0020000E"]["Value"][0], one["00080018"]["Value"][0]
    url = f"/dicomweb/studies/{study_uid}/series/{series}/instances/{sop}/frames/1/rendered"
    frame = client.get(url, headers={"Accept": "image/png"})
    assert frame.status_code == 200, frame.text
    pixels = np.asarray(Image.open(io.BytesIO(frame.content)).convert("L"))
    assert pixels.std() > 10, f"{study_uid} renders blank"
