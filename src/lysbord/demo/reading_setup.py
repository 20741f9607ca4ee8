"""The demo's reading room: report templates for common procedures and a room roster.

Made through the services, like the rest of the demo, after the demo users exist: the
roster names the demo radiographer (``demo.users``) on every room of the first hospital
(``region_data.SITES``) for the working days from today: their start page leads with
those rooms, and a start by hand in another hospital's room shows the roster's warning
and asks for a reason.
"""

from __future__ import annotations

from datetime import timedelta

from lysbord.demo.region_data import SITES
from lysbord.demo.users import ACTOR, DEMO_USERS
from lysbord.domain.access import Role
from lysbord.domain.calendar import is_working_day, local_date
from lysbord.services.core.context import Context
from lysbord.services.operations.region import list_sites
from lysbord.services.pathway import report_templates, roster
from lysbord.services.pathway.report_templates import TemplateCommand

#: Working days rostered, from today.
ROSTER_DAYS = 10
_SEEN = "Sammenligning: {{comparison}}\n"

TEMPLATES = (
    TemplateCommand(
        "CT af thorax med kontrast",
        "Klinisk information: {{indication}}\nHenvist fra: {{referring_unit}}\n"
        "Undersøgelse: {{procedure}} ({{procedure_code}}), {{exam_date}}\n"
        "Teknik: Spiral-CT af thorax med i.v. kontrast i venøs fase, rekonstruktioner i "
        "bløddels- og lungevindue.\n" + _SEEN + "\n"
        "Lunger: {{findings}}\nMediastinum og hili: Ingen forstørrede lymfeknuder.\n"
        "Pleura: Ingen pleuravæske.\nKnogler: Ingen destruktive forandringer.\n\n"
        "Konklusion: {{conclusion}}",
        ("UXCC00", "UXCD10"),
    ),
    TemplateCommand(
        "Røntgen af thorax, to planer",
        "Klinisk information: {{indication}}\n" + _SEEN + "\n"
        "Normal hjertestørrelse. Ingen infiltrater. Ingen pleuravæske. Intet pneumothorax.\n"
        "{{findings}}\n\nKonklusion: {{conclusion}}",
        ("UXRC00",),
    ),
    TemplateCommand(
        "Klinisk mammografi",
        "Klinisk information: {{indication}}\nPatient: {{patient_name}}, {{age}} år\n"
        + _SEEN
        + "\n"
        "Brystvævstæthed (ACR): {{findings}}\nHøjre mamma: {{findings}}\n"
        "Venstre mamma: {{findings}}\nAksiller: Ingen patologisk udseende lymfeknuder.\n\n"
        "BI-RADS: {{conclusion}}",
        ("UXRC40", "UXRC41", "UXRC45", "UXRC50"),
    ),
    TemplateCommand(
        "UL af abdomen",
        "Klinisk information: {{indication}}\n\n"
        "Lever: Normal størrelse og ekkostruktur, ingen fokale forandringer.\n"
        "Galdeblære og galdeveje: Ingen sten, ikke dilaterede galdeveje.\n"
        "Pancreas: Normal, så vidt den ses.\nMilt: Normal størrelse.\n"
        "Nyrer: Normal størrelse, ingen hydronefrose.\nØvrigt: {{findings}}\n\n"
        "Konklusion: {{conclusion}}",
        ("UXUD00",),
    ),
)


def build_reading_setup(ctx: Context) -> tuple[int, int]:
    """Add the templates and the roster; answers (templates, roster entries) made."""
    for cmd in TEMPLATES:
        report_templates.create_template(ctx, cmd, ACTOR)
    radiographer = DEMO_USERS[Role.radiographer][0]
    today = local_date(ctx.now())
    ahead = (today + timedelta(days=i) for i in range(ROSTER_DAYS * 2))
    days = [d for d in ahead if is_working_day(d)][:ROSTER_DAYS]
    home = SITES[0].code
    rooms = [r.ae_title for s in list_sites(ctx) if s.code == home for r in s.rooms if r.active]
    for day in days:
        for ae_title in rooms:
            roster.add_to_roster(ctx, ae_title, day, radiographer, ACTOR)
    return len(TEMPLATES), len(days) * len(rooms)
