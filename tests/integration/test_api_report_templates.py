"""REST /api/v1/report-templates (issue 23): an admin writes templates per procedure code,
an unknown placeholder is 422 naming ``text``, a template fills in for a procedure."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient

from lysbord.domain.access import Role
from tests.integration.api_fixtures import (  # noqa: F401
    accession,
    api_as_fixture,
    api_fixture,
    ok,
    problem,
)

URL = "/api/v1/report-templates"
CT_THORAX = {
    "name": "CT thorax, standard",
    "text": "Indikation: {{ indication }}\nPatient: {{patient_name}}\n{{procedure}}\n"
    "Fund: {{findings}}",
    "codes": ["UXCC00"],
}


def test_a_template_is_written_offered_for_its_code_filled_and_retired(api: TestClient) -> None:
    made = ok(api.post(URL, json=CT_THORAX), 201)
    assert made["codes"] == ["UXCC00"] and made["retired_at"] is None
    assert [t["id"] for t in ok(api.get(URL, params={"code": "UXCC00"}))] == [made["id"]]
    assert ok(api.get(URL, params={"code": "UXRC00"})) == []
    acc = accession(api)
    filled = ok(api.get(f"{URL}/{made['id']}/filled", params={"accession": acc}))
    assert filled["text"].startswith("Indikation: Mistanke om lungecancer\nPatient: Sørensen, Åse")
    assert "CT af thorax" in filled["text"] and filled["text"].endswith("Fund: …")
    changed = ok(api.put(f"{URL}/{made['id']}", json=CT_THORAX | {"codes": ["UXRC00"]}))
    assert changed["codes"] == ["UXRC00"]
    retired = ok(api.delete(f"{URL}/{made['id']}"))
    assert retired["retired_at"] is not None
    assert ok(api.get(URL, params={"code": "UXRC00"})) == []
    assert [t["id"] for t in ok(api.get(URL, params={"retired": True}))] == [made["id"]]


def test_an_unknown_placeholder_is_refused_naming_it(api: TestClient) -> None:
    body = problem(api.post(URL, json=CT_THORAX | {"text": "Svar: {{diagnose}}"}), 422, "text")
    assert body["value"] == "diagnose" and "{{diagnose}}" in body["reason"]
    problem(api.post(URL, json=CT_THORAX | {"text": "Svar: {{findings"}), 422, "text")
    problem(api.post(URL, json=CT_THORAX | {"codes": ["NOSUCH"]}), 422, "codes")
    problem(api.post(URL, json=CT_THORAX | {"codes": []}), 422, "codes")
    problem(api.post(URL, json=CT_THORAX | {"name": " "}), 422, "name")
    assert ok(api.get(URL, params={"retired": True})) == []


def test_the_fields_and_who_may_write(api: TestClient, api_as: Callable[..., TestClient]) -> None:
    fields = ok(api.get(f"{URL}/fields"))
    assert "indication" in fields["case"] and "findings" in fields["free"]
    doctor = api_as(Role.radiologist)
    assert doctor.post(URL, json=CT_THORAX).status_code == 403
    problem(api.get(f"{URL}/999999"), 404, "template_id")
    made = ok(api.post(URL, json=CT_THORAX), 201)
    problem(api.get(f"{URL}/{made['id']}/filled", params={"accession": "NOSUCH"}), 422, "accession")
    assert ok(doctor.get(URL))[0]["name"] == "CT thorax, standard"
