"""The administrator's pages (issue 23), in Danish on both backends: the Administration
entry page, report templates (an unknown placeholder refused beside the text, naming it)
and the room roster (only active radiographers, once per room and day)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from httpx2 import Response

from lysbord.app import create_app
from lysbord.domain.access import Role
from lysbord.domain.calendar import local_date
from lysbord.services.core.context import Context
from lysbord.services.pathway import report_templates, roster
from tests.web_fixtures import csrf_of, signed_in, user_for


@pytest.fixture(name="web")
def web_fixture(ctx: Context) -> Iterator[TestClient]:
    with TestClient(create_app(ctx)) as client:
        signed_in(client, ctx, Role.admin)
        yield client


def post(web: TestClient, path: str, form: dict[str, str | list[str]]) -> Response:
    return web.post(path, data=form | {"csrf_token": csrf_of(web, "/")}, follow_redirects=False)


def test_one_menu_entry_leads_to_every_administration_page(web: TestClient, ctx: Context) -> None:
    page = web.get("/admin").text
    assert 'href="/admin"' in page and "Administration" in page
    for path in ("/users", "/report-templates", "/roster"):
        assert f'href="{path}"' in page and web.get(path).status_code == 200
    signed_in(web, ctx, Role.radiologist)
    assert web.get("/admin").status_code == 403 and web.get("/roster").status_code == 403


def test_a_template_is_written_refused_with_a_reason_changed_and_retired(
    web: TestClient, ctx: Context
) -> None:
    form: dict[str, str | list[str]] = {
        "name": "Røntgen af thorax",
        "codes": ["UXRC00", "UXCC00"],
        "text": "Indikation: {{indication}}\nKonklusion: {{diagnose}}",
    }
    refused = post(web, "/report-templates", form)
    assert refused.status_code == 422
    assert "Ukendt felt {{diagnose}} i teksten. Kendte felter: {{patient_name}}" in refused.text
    assert "Konklusion: {{diagnose}}</textarea>" in refused.text
    assert post(web, "/report-templates", form | {"codes": []}).status_code == 422
    form["text"] = "Indikation: {{indication}}\nKonklusion: {{conclusion}}"
    assert post(web, "/report-templates", form).status_code == 303
    [made] = report_templates.list_templates(ctx)
    assert made.codes == ["UXCC00", "UXRC00"]
    assert "Indikation: {{indication}}" in web.get(f"/report-templates/{made.id}").text
    changed = post(web, f"/report-templates/{made.id}", form | {"name": "Thorax, to planer"})
    assert changed.status_code == 303
    assert post(web, f"/report-templates/{made.id}/retire", {}).status_code == 303
    listed = web.get("/report-templates").text
    assert "Thorax, to planer" in listed and "ude af brug" in listed


def test_the_roster_takes_active_radiographers_once_per_room_and_day(
    web: TestClient, ctx: Context
) -> None:
    radiographer, _ = user_for(ctx, Role.radiographer)
    clerk, _ = user_for(ctx, Role.booking_clerk)
    day = local_date(ctx.now()).isoformat()
    form: dict[str, str | list[str]] = {"day": day, "room": "AAACT1", "username": radiographer}
    page = web.get("/roster").text
    assert radiographer in page and f'value="{clerk}"' not in page
    assert post(web, "/roster", form).status_code == 303
    again = post(web, "/roster", form)
    assert again.status_code == 422 and "står allerede på vagtplanen" in again.text
    not_one = post(web, "/roster", form | {"username": clerk})
    assert not_one.status_code == 422 and "Vælg en aktiv radiograf fra listen." in not_one.text
    bad_day = post(web, "/roster", form | {"day": "i morgen"})
    assert bad_day.status_code == 422 and "Skriv en dag som ÅÅÅÅ-MM-DD." in bad_day.text
    no_room = post(web, "/roster", form | {"room": "NOSUCH"})
    assert no_room.status_code == 422 and "Vælg et rum fra listen." in no_room.text
    [entry] = roster.list_roster(ctx, local_date(ctx.now()))
    assert f"Fjern {radiographer} fra CT 1" in web.get("/roster", params={"week": day}).text
    assert post(web, f"/roster/{entry.id}/remove", {"week": day}).status_code == 303
    assert roster.list_roster(ctx, local_date(ctx.now())) == []
    assert web.get("/roster", params={"week": "ugen"}).status_code == 422
