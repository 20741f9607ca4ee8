"""The reading list's filters and the report templates on the reading screen (issue 23):
filters combine and stay in the links, an unknown value is refused in Danish; a template
for the case's code fills the box, never over a saved draft unless the user chooses it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from lysbord.app import create_app
from lysbord.domain.access import Role
from lysbord.domain.priorities import Priority
from lysbord.services.core.context import Context
from lysbord.services.pathway import report_templates, reports
from lysbord.services.pathway.report_templates import TemplateCommand
from tests.helpers import new_patient
from tests.integration.test_reading_screen import performed, post
from tests.web_fixtures import signed_in


@pytest.fixture(name="web")
def web_fixture(ctx: Context) -> Iterator[TestClient]:
    with TestClient(create_app(ctx)) as client:
        signed_in(client, ctx, Role.radiologist)
        yield client


def test_the_filters_combine_and_stay_in_the_query(web: TestClient, ctx: Context) -> None:
    cpr = new_patient(ctx)
    ct = performed(ctx, cpr, "20261120", priority=Priority.URGENT)
    xray = performed(ctx, cpr, "20261120", codes=("UXRC00",))
    both = web.get("/reading").text
    assert ct in both and xray in both
    chest_ct = web.get("/reading", params={"modality": "CT", "body_part": "CHEST"}).text
    assert ct in chest_ct and xray not in chest_ct
    assert '<option value="CT" selected>' in chest_ct and "Thorax" in chest_ct
    urgent_dx = web.get("/reading", params={"modality": "DX", "priority": "urgent"}).text
    assert ct not in urgent_dx and xray not in urgent_dx and "Intet afventer" in urgent_dx
    routine = web.get("/reading", params={"priority": "routine"}).text
    assert xray in routine and ct not in routine


def test_the_case_leads_back_to_the_list_as_it_was_filtered(web: TestClient, ctx: Context) -> None:
    accession = performed(ctx, new_patient(ctx), "20261120")
    listed = web.get("/reading", params={"modality": "CT", "priority": "routine"}).text
    assert f"/reading/{accession}?back=modality%3DCT%26priority%3Droutine" in listed
    page = web.get(f"/reading/{accession}", params={"back": "modality=CT&priority=routine"})
    assert 'href="/reading?modality=CT&amp;priority=routine"' in page.text
    signed = post(web, f"/reading/{accession}", text="Normal.", sign="1", back="modality=CT")
    assert signed.headers["location"] == "/reading?modality=CT"
    other = performed(ctx, new_patient(ctx), "20261120")
    away = post(web, f"/reading/{other}", text="Normal.", sign="1", back="next=//evil.example")
    assert away.headers["location"] == "/reading"


@pytest.mark.parametrize(
    ("name", "said"),
    [
        ("modality", "Ukendt modalitet «XX»"),
        ("site", "Ukendt hospital «XX»"),
        ("body_part", "Ukendt kropsdel «XX»"),
        ("priority", "Ukendt prioritet «XX»"),
    ],
)
def test_an_unknown_filter_value_is_refused_in_danish(
    web: TestClient, ctx: Context, name: str, said: str
) -> None:
    accession = performed(ctx, new_patient(ctx), "20261120")
    refused = web.get("/reading", params={name: "XX"})
    assert refused.status_code == 422
    assert said in refused.text and accession not in refused.text


def _template(ctx: Context, code: str = "UXCC00") -> int:
    cmd = TemplateCommand("CT thorax", "Indikation: {{indication}}\nFund: {{findings}}", (code,))
    return report_templates.create_template(ctx, cmd, "admin").id


def test_a_template_for_the_code_fills_the_report_box(web: TestClient, ctx: Context) -> None:
    accession = performed(ctx, new_patient(ctx), "20261120")
    offered, other = _template(ctx), _template(ctx, "UXRC00")
    page = web.get(f"/reading/{accession}").text
    assert f"?template={offered}" in page and f"?template={other}" not in page
    filled = web.get(f"/reading/{accession}", params={"template": offered}).text
    assert "Indikation: Mistanke om lungecancer\nFund: …</textarea>" in filled
    wrong = web.get(f"/reading/{accession}", params={"template": other})
    assert wrong.status_code == 422 and "findes ikke til denne undersøgelse" in wrong.text


def test_a_template_never_replaces_a_saved_draft_unasked(web: TestClient, ctx: Context) -> None:
    accession = performed(ctx, new_patient(ctx), "20261120")
    chosen = _template(ctx)
    assert post(web, f"/reading/{accession}", text="Min kladde.", save="1").status_code == 303
    asked = web.get(f"/reading/{accession}", params={"template": chosen}).text
    assert "Min kladde.</textarea>" in asked and "Erstat teksten med skabelonen" in asked
    replaced = web.get(f"/reading/{accession}", params={"template": chosen, "replace": "1"}).text
    assert "Fund: …</textarea>" in replaced and "Min kladde." not in replaced.split("<textarea")[1]
    assert [v.text for v in reports.list_reports(ctx, accession)] == ["Min kladde."]
