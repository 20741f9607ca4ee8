"""Every outbound message type, at every version we can declare, passes hl7apy strict.

hl7apy is an independent model of the standard (tests/hl7_strict.py says what it checks
and the few findings it excuses); the renderer is ours. A sample of each type is
rendered from facts as the outbox stores them, then read and validated by hl7apy at
the version its MSH-12 declares; one pathway goes through the database and the
delivery worker to real receivers, each message checked as it arrived.
"""

from __future__ import annotations

from dataclasses import replace

import pytest
from hl7apy import load_reference

from lysbord.config.hl7_out import Hl7OutSettings
from lysbord.domain.access import Role
from lysbord.hl7.messages_out import BODIES, render
from lysbord.hl7.worker import DeliveryWorker
from lysbord.services.core.context import Context
from lysbord.services.core.outbox import MessageFacts
from lysbord.services.pathway import booking, procedures
from lysbord.services.pathway.procedures import Action
from lysbord.services.people.users import NewUser, add_user
from tests.helpers import new_referral
from tests.hl7_out.conftest import drain, ehr, routed, through_report
from tests.hl7_out.receiver import Receiver, field
from tests.hl7_out.test_messages import DEST, REPORT, VISIT, facts
from tests.hl7_strict import assert_strict, parse_strict, report, unexcused

VERSIONS = ("2.3.1", "2.4", "2.5", "2.5.1")
BOOKED = replace(
    VISIT,
    contact_name="Booking Alfa Hospital",
    contact_phone="+45 00000001",
    booked_by="sekretaer",
    booked_by_name="Bente Sekretær",
)
SAMPLES: dict[str, MessageFacts] = {
    "SIU^S12": facts("SIU^S12", visit=BOOKED, event="procedure.booked"),
    "SIU^S13": facts("SIU^S13", visit=BOOKED, event="procedure.rebooked"),
    "SIU^S15": facts("SIU^S15", visit=BOOKED, reason="Syg | ^ & ~", event="procedure.cancelled"),
    "SIU^S26": facts("SIU^S26", visit=BOOKED, event="procedure.no-show"),
    "ORM^O01": facts("ORM^O01", order_status="SC", event="procedure.booked"),
    "OMI^O23": facts("OMI^O23", order_status="CM", event="procedure.completed"),
    "ORU^R01": facts("ORU^R01", report=REPORT, event="report.corrected"),
}
#: OMI^O23 is defined from v2.5 (the settings refuse it before).
SINCE = {"OMI^O23": "2.5"}


def _cases() -> list[tuple[str, str]]:
    return [(kind, v) for kind in SAMPLES for v in VERSIONS if v >= SINCE.get(kind, VERSIONS[0])]


def test_every_type_we_render_has_a_sample() -> None:
    assert set(SAMPLES) == set(BODIES)


@pytest.mark.parametrize(("kind", "version"), _cases())
def test_outbound_messages_pass_hl7apy_strict(kind: str, version: str) -> None:
    assert_strict(render(42, SAMPLES[kind], Hl7OutSettings(version=version), DEST))


@pytest.mark.parametrize("version", VERSIONS)
def test_a_no_show_sent_as_s15_says_so_and_passes(version: str) -> None:
    """A receiver that knows only S12-S15 gets S15 (no_show = "SIU^S15"): the appointment
    is cancelled (SCH-25) and SCH-6 says why."""
    no_show = replace(SAMPLES["SIU^S26"], message_type="SIU^S15")
    text = render(43, no_show, Hl7OutSettings(version=version), DEST)
    assert_strict(text)
    sch = text.split("\r")[1].split("|")
    assert (sch[6], sch[25]) == ("NOSHOW^Did not come^L", "Cancelled")


def test_the_required_scheduling_fields_come_from_the_site_and_the_booker() -> None:
    text = render(44, SAMPLES["SIU^S12"], Hl7OutSettings(), DEST)
    sch = text.split("\r")[1].split("|")
    assert sch[6] == "BOOKED^Booked^L"
    assert sch[16] == "AAA^Booking Alfa Hospital^^^^^^^LYSBORD"
    assert sch[17] == "45 00000001^WPN^PH^^45^^00000001"
    assert sch[20] == "sekretaer^Sekretær^Bente^^^^^^LYSBORD"
    ail = text.split("\r")[5].split("|")
    assert ail[4] == "D^Department^HL70305"


def test_orm_o01_fails_hl7apy_only_on_the_choice_it_validates_as_a_sequence() -> None:
    """The finding of issue 26: hl7apy refuses every ORM^O01, and the standard does not.

    HL7 v2.5 chapter 4, ORM^O01 (ORM_O01), the order group::

        { ORDER
          ORC
          [ ORDER_DETAIL
            < OBR | RQD | RQ1 | RXO | ODS | ODT >
            [{ NTE }] [ CTD ] [{ DG1 }] [{ OBSERVATION: OBX [{ NTE }] }]
          ]
          [{ FT1 }] [{ CTI }] [ BLG ]
        }

    ``< OBR | ... | ODT >`` is a choice: one segment, here OBR (a radiology order).
    hl7apy models that group as a ``choice`` too, but its validator walks a choice like
    a sequence and wants every alternative (hl7apy issue #151): exactly the five
    errors below. Everything else in the message is still checked strictly."""
    choice = "ORM_O01_OBRRQDRQ1RXOODSODT_SUPPGRP"
    text = render(45, SAMPLES["ORM^O01"], Hl7OutSettings(version="2.5"), DEST)
    msg = parse_strict(text)
    assert load_reference(choice, "Group", "2.5")[0] == "choice"
    errors, _ = report(msg)
    assert sorted(errors) == sorted(
        f"Missing required child {choice}.{seg}" for seg in ("RQD", "RQ1", "RXO", "ODS", "ODT")
    )
    (group,) = msg.children.get("ORM_O01_ORDER")[0].children.get("ORM_O01_ORDER_DETAIL")
    assert [c.name for c in group.children.get(choice)[0].children] == ["OBR"]
    assert unexcused(text) == []


def test_the_choice_excuse_excuses_nothing_else() -> None:
    """An ORM whose OBR lacks OBR-4 (required) is still refused, choice or not."""
    text = render(46, SAMPLES["ORM^O01"], Hl7OutSettings(version="2.5"), DEST)
    broken = "\r".join(
        "|".join(f if i != 4 else "" for i, f in enumerate(line.split("|")))
        if line.startswith("OBR|")
        else line
        for line in text.split("\r")
    )
    assert unexcused(broken) == ["Missing required child OBR.OBR_4"]


def test_a_whole_pathway_sends_only_messages_hl7apy_accepts(
    ctx: Context, receiver: Receiver
) -> None:
    """Through the database and the worker to two receivers: one with the standard's
    choices, one that wants S15 for a no-show and OMI^O23 for the status."""
    other = Receiver().start()
    try:
        practice = {"name": "pacs", "no_show": "SIU^S15", "order_status": "OMI^O23"}
        ctx = routed(ctx, ehr(receiver.port), ehr(other.port).model_copy(update=practice))
        add_user(ctx, NewUser("bente", "Bente Sekretær", (Role.booking_clerk.value,)), "test")
        accession = new_referral(ctx).procedures[0].accession
        slot = booking.find_slots(ctx, booking.SlotSearch(accession))[0]
        booking.book(ctx, accession, slot.slot_id, "bente")
        procedures.act(ctx, accession, Action.NO_SHOW, "radiograf")
        through_report(ctx, accession)  # booked again (by "tester", no user), done, reported
        worker = DeliveryWorker(ctx)
        drain(worker)
        worker.close_connections()
    finally:
        other.stop()
    kinds = ["SIU^S12", "ORM^O01", "SIU^S26", "SIU^S12"] + ["ORM^O01"] * 3  # SC, SC IP CM
    assert [field(m, "MSH", 9)[:7] for m in receiver.messages] == kinds + ["ORU^R01"]
    assert [field(m, "MSH", 9)[:7] for m in other.messages] == [
        {"SIU^S26": "SIU^S15", "ORM^O01": "OMI^O23"}.get(k, k) for k in kinds
    ] + ["ORU^R01"]
    for message in receiver.messages + other.messages:
        assert_strict(message)
    s12 = receiver.messages[0]
    assert field(s12, "SCH", 16) == "AAA^Booking Alfa^^^^^^^LYSBORD"
    assert field(s12, "SCH", 17) == "45 00000001^WPN^PH^^45^^00000001"
    assert field(s12, "SCH", 20) == "bente^Sekretær^Bente^^^^^^LYSBORD"
    assert field(other.messages[2], "SCH", 6) == "NOSHOW^Did not come^L"
