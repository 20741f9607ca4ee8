"""The demo's reading room (issue 23): plausible Danish report templates for CT thorax,
chest X-ray, mammography and abdominal ultrasound, and the demo radiographer rostered
on the first hospital's rooms for the coming working days."""

from __future__ import annotations

from datetime import timedelta

from lysbord.demo.reading_setup import ROSTER_DAYS, build_reading_setup
from lysbord.demo.region_data import SITES, contact, procedure_codes, room_specs
from lysbord.demo.users import create_demo_users
from lysbord.domain.calendar import is_working_day, local_date
from lysbord.services.core.context import Context
from lysbord.services.operations import region
from lysbord.services.pathway import report_templates, roster


def test_the_demo_has_templates_and_a_roster(bare_ctx: Context) -> None:
    ctx = bare_ctx
    region.add_procedure_codes(ctx, procedure_codes())
    for site in SITES[:2]:
        region.add_site(ctx, site.code, site.name, room_specs(site), contact(site))
    site = SITES[0]
    create_demo_users(ctx)
    templates, entries = build_reading_setup(ctx)
    rooms = len(room_specs(site))
    assert (templates, entries) == (4, ROSTER_DAYS * rooms)
    for code in ("UXCC00", "UXRC00", "UXRC40", "UXUD00"):
        [offered] = report_templates.list_templates(ctx, code=code)
        assert "{{indication}}" in offered.text and "{{conclusion}}" in offered.text
    first = local_date(ctx.now())
    while not is_working_day(first):
        first += timedelta(days=1)
    on_first = roster.list_roster(ctx, first, 1)
    assert len(on_first) == rooms and {e.username for e in on_first} == {"radiograf"}
