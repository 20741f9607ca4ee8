"""Every checked-in sample over a real MLLP socket: applied, answered, and what it changed."""

from __future__ import annotations

import uuid

from lysbord.domain.priorities import Priority
from lysbord.services.core.context import Context
from lysbord.services.pathway import procedures, referral_queries
from lysbord.services.people import registration
from tests.helpers import new_patient, random_cpr
from tests.hl7_in.conftest import MllpClient, sample, segment


def cid() -> str:
    return uuid.uuid4().hex[:16]


def test_a01_registers_a_patient_with_danish_letters_in_utf8(
    ctx: Context, client: MllpClient
) -> None:
    cpr = random_cpr()
    answer = client.call(sample("adt_a01.hl7", cpr=cpr, id=(msg_id := cid())))
    assert segment(answer, "MSA", "utf-8")[1:3] == ["AA", msg_id]
    assert segment(answer, "MSH", "utf-8")[9] == "ACK^A01^ACK"
    p = registration.get_patient(ctx, cpr)
    assert (p.family_name, p.given_name) == ("Ærø", "Søren")


def test_a04_in_latin1_keeps_the_danish_letters(ctx: Context, client: MllpClient) -> None:
    cpr = random_cpr()
    raw = sample("adt_a04_latin1.hl7", cpr=cpr, id=cid())
    assert "Ø".encode("latin-1") in raw
    assert segment(client.call(raw), "MSA")[1] == "AA"
    p = registration.get_patient(ctx, cpr)
    assert (p.family_name, p.given_name) == ("Ørsted", "Åse")


def test_a05_and_a31_register_and_a08_updates(ctx: Context, client: MllpClient) -> None:
    a, b = random_cpr(), random_cpr()
    assert segment(client.call(sample("adt_a05.hl7", cpr=a, id=cid())), "MSA")[1] == "AA"
    assert segment(client.call(sample("adt_a31.hl7", cpr=b, id=cid())), "MSA")[1] == "AA"
    assert registration.get_patient(ctx, b).family_name == "Jensen"
    update = sample("adt_a08.hl7", cpr=a, id=cid(), family="Ærøbo")
    assert segment(client.call(update), "MSA")[1] == "AA"
    assert registration.get_patient(ctx, a).family_name == "Ærøbo"


def test_a40_merges_and_a47_adds_the_right_number(ctx: Context, client: MllpClient) -> None:
    survivor, prior = new_patient(ctx), new_patient(ctx)
    answer = client.call(sample("adt_a40.hl7", cpr=survivor, prior=prior, id=cid()))
    assert segment(answer, "MSA")[1] == "AA"
    assert registration.get_patient(ctx, prior).id == registration.get_patient(ctx, survivor).id
    right = random_cpr()
    answer = client.call(sample("adt_a47.hl7", cpr=right, prior=survivor, id=cid()))
    assert segment(answer, "MSA")[1] == "AA"
    assert registration.get_patient(ctx, right).id == registration.get_patient(ctx, survivor).id


def _place(ctx: Context, client: MllpClient, placer: str) -> tuple[str, list[str]]:
    cpr = new_patient(ctx)
    answer = client.call(sample("orm_o01_nw.hl7", cpr=cpr, id=cid(), placer=placer))
    assert segment(answer, "MSH")[9] == "ORR^O02^ORR_O02"
    assert segment(answer, "MSA")[1] == "AA", answer
    lines = [s.split("|") for s in answer.decode("latin-1").split("\r") if s.startswith("ORC")]
    assert [line[1] for line in lines] == ["OK", "OK"]
    return cpr, [line[3].split("^")[0] for line in lines]


def test_orm_new_order_gives_accessions_as_filler_numbers(ctx: Context, client: MllpClient) -> None:
    cpr, accessions = _place(ctx, client, cid())
    items, total = referral_queries.list_referrals(ctx, referral_queries.ReferralFilter(cpr=cpr))
    assert total == 1
    view = items[0]
    assert [p.accession for p in view.procedures] == accessions
    assert view.priority == Priority.ROUTINE
    assert view.referring_unit == "Lungemedicinsk afd."
    assert view.clinical_question == "Mistanke om lungecancer"


def test_orm_cancel_by_filler_number(ctx: Context, client: MllpClient) -> None:
    cpr, (first, _) = _place(ctx, client, placer := cid())
    answer = client.call(
        sample("orm_o01_ca.hl7", cpr=cpr, id=cid(), placer=placer, accession=first)
    )
    assert segment(answer, "MSA")[1] == "AA"
    assert segment(answer, "ORC")[1] == "CR"
    detail = procedures.get_procedure(ctx, first)
    assert detail.procedure.state == "cancelled"
    assert detail.events[-1].reason == "Patienten ønsker det ikke"


def test_orm_cancel_by_placer_number_only(ctx: Context, client: MllpClient) -> None:
    cpr, (first, _) = _place(ctx, client, placer := cid())
    answer = client.call(sample("orm_o01_ca.hl7", cpr=cpr, id=cid(), placer=placer, accession=""))
    assert segment(answer, "ORC")[1:4] == ["CR", f"{placer}", f"{first}^LYSBORD"]
    assert procedures.get_procedure(ctx, first).procedure.state == "cancelled"


def test_orm_hold_release_change_and_discontinue(ctx: Context, client: MllpClient) -> None:
    cpr, (first, second) = _place(ctx, client, placer := cid())
    ids = {"cpr": cpr, "placer": placer, "accession": first}
    assert segment(client.call(sample("orm_o01_hd.hl7", id=cid(), **ids)), "ORC")[1] == "HR"
    assert procedures.get_procedure(ctx, first).procedure.state == "on-hold"
    assert segment(client.call(sample("orm_o01_rl.hl7", id=cid(), **ids)), "ORC")[1] == "OR"
    assert procedures.get_procedure(ctx, first).procedure.state == "requested"
    answer = client.call(sample("orm_o01_xo.hl7", id=cid(), code="UXMA00", **ids))
    assert segment(answer, "ORC")[1] == "XR", answer
    detail = procedures.get_procedure(ctx, first)
    assert (detail.procedure.code, detail.referral.priority) == ("UXMA00", Priority.URGENT)
    assert segment(client.call(sample("orm_o01_dc.hl7", id=cid(), **ids)), "ORC")[1] == "DR"
    assert procedures.get_procedure(ctx, first).procedure.state == "cancelled"
    assert procedures.get_procedure(ctx, second).procedure.state == "requested"


def test_omi_is_answered_ori_with_ipc_and_cancer_pathway(ctx: Context, client: MllpClient) -> None:
    cpr = new_patient(ctx)
    raw = sample("omi_o23_nw.hl7", cpr=cpr, id=cid(), placer=cid(), end="20261130")
    answer = client.call(raw)
    assert segment(answer, "MSH", "utf-8")[9] == "ORI^O24^ORI_O24"
    assert segment(answer, "MSA", "utf-8")[1] == "AA", answer
    accession = segment(answer, "ORC", "utf-8")[3].split("^")[0]
    ipc = segment(answer, "IPC", "utf-8")
    detail = procedures.get_procedure(ctx, accession)
    assert ipc[1] == accession and ipc[3] == detail.procedure.study_uid and ipc[5] == "CT"
    assert detail.referral.priority == Priority.CANCER_PATHWAY
    assert detail.referral.due_at.date().isoformat() == "2026-11-30"


def test_omg_is_answered_org_and_acute(ctx: Context, client: MllpClient) -> None:
    cpr = new_patient(ctx)
    answer = client.call(sample("omg_o19_nw.hl7", cpr=cpr, id=cid(), placer=cid()))
    assert segment(answer, "MSH", "utf-8")[9] == "ORG^O20^ORG_O20"
    accession = segment(answer, "ORC", "utf-8")[3].split("^")[0]
    assert procedures.get_procedure(ctx, accession).referral.priority == Priority.ACUTE


def test_same_control_id_is_applied_once_and_answered_alike(
    ctx: Context, client: MllpClient
) -> None:
    cpr = new_patient(ctx)
    raw = sample("orm_o01_nw.hl7", cpr=cpr, id=cid(), placer=cid())
    first, again = client.call(raw), client.call(raw)
    assert first == again
    assert referral_queries.list_referrals(ctx, referral_queries.ReferralFilter(cpr=cpr))[1] == 1
