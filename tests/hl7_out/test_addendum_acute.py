"""Addenda and acute findings (issue 23): an addendum keeps the signed report above it and
is sent as a corrected result; an acute finding flags every OBX critically abnormal (AA)
and lists the procedure for the referring unit."""

from __future__ import annotations

import random

import pytest

from lysbord.domain.access import Role
from lysbord.domain.errors import IllegalTransition
from lysbord.services.core.context import Context
from lysbord.services.pathway import acute, reports
from tests.helpers import new_referral
from tests.hl7_out.conftest import ehr, examine, routed
from tests.hl7_out.receiver import field
from tests.hl7_out.test_reports import _obx, _oru_sent
from tests.integration.api_fixtures import api_fixture, ok, problem
from tests.web_fixtures import bearer

__all__ = ["api_fixture"]


def reported(ctx: Context, *, acute_finding: bool = False, unit: str | None = None) -> str:
    extra = {"referring_unit": unit} if unit else {}
    accession = new_referral(ctx, **extra).procedures[0].accession
    examine(ctx, accession)
    reports.write_report(
        ctx, accession, text="Lungeemboli hø. side.", author="Søren Å", final=True,
        acute=acute_finding,
    )  # fmt: skip
    return accession


def test_an_addendum_keeps_the_signed_text_and_is_sent_corrected(ctx: Context) -> None:
    ctx = routed(ctx, ehr(1, "ORU"))
    accession = reported(ctx)
    added = reports.add_addendum(ctx, accession, text="Også lille effusion.", author="Åse Ø")
    assert (added.version, added.status) == (2, "addendum")
    assert added.text.startswith("Lungeemboli hø. side.\n\nTILLÆG ")
    assert added.text.endswith("(Åse Ø):\nOgså lille effusion.")
    first, second = reports.list_reports(ctx, accession)
    assert first.text == "Lungeemboli hø. side."  # never overwritten
    sent = _oru_sent(ctx)
    assert [field(m, "OBR", 25) for m in sent] == ["F", "C"]
    assert [row[5] for row in _obx(sent[1])][-1] == "Også lille effusion."


def test_an_addendum_needs_a_signed_report(ctx: Context) -> None:
    accession = new_referral(ctx).procedures[0].accession
    examine(ctx, accession)
    reports.write_report(ctx, accession, text="Kladde", author="Søren Å", final=False)
    with pytest.raises(IllegalTransition):
        reports.add_addendum(ctx, accession, text="Tillæg", author="Søren Å")
    assert [r.status for r in reports.list_reports(ctx, accession)] == ["preliminary"]


def test_an_acute_finding_is_flagged_aa_and_listed_for_its_unit(ctx: Context) -> None:
    ctx = routed(ctx, ehr(1, "ORU"))
    unit = f"Akutmodtagelsen {random.getrandbits(32)}"
    acute_one, calm = reported(ctx, acute_finding=True, unit=unit), reported(ctx, unit=unit)
    sent = _oru_sent(ctx)
    assert [{row[8] for row in _obx(m)} for m in sent] == [{"AA"}, {""}]
    items, total = acute.acute_findings(ctx, unit=unit)
    assert (total, [i.accession for i in items]) == (1, [acute_one])
    reports.add_addendum(ctx, acute_one, text="Kontrol om 3 mdr.", author="Åse Ø")
    items, total = acute.acute_findings(ctx, unit=unit)  # the addendum keeps the mark
    assert total == 1 and items[0].text.endswith("Kontrol om 3 mdr.")
    assert unit in acute.referring_units(ctx) and calm not in [i.accession for i in items]


def test_the_api_adds_an_addendum_and_lists_acute_findings(api, ctx: Context) -> None:
    unit = f"Medicinsk afd. {random.getrandbits(32)}"
    accession = reported(ctx, acute_finding=True, unit=unit)
    radiologist = {"headers": bearer(ctx, Role.radiologist)}
    body = {"text": "Se også ve. side.", "author": "Åse Ø"}
    added = ok(api.post(f"/api/v1/procedures/{accession}/addendum", json=body, **radiologist), 201)
    assert added["status"] == "addendum" and added["acute"] is True
    page = ok(api.get("/api/v1/acute-findings", params={"unit": unit}))
    assert [i["accession"] for i in page["items"]] == [accession]
    draft = new_referral(ctx).procedures[0].accession
    problem(
        api.post(f"/api/v1/procedures/{draft}/addendum", json=body, **radiologist), 409, "state"
    )
