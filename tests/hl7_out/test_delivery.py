"""Delivery over real MLLP sockets: ACKs, outages, order per patient, dead letters, restarts."""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import replace

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from lysbord.hl7.worker import DeliveryWorker
from lysbord.services.core.context import Context, utc_now
from lysbord.services.messaging import outbox_queue
from lysbord.services.messaging.outbox_queue import OutboxStatus
from lysbord.services.pathway import booking, procedures
from lysbord.services.pathway.procedures import Action
from lysbord.store.db import make_engine
from lysbord.store.outbox_models import OutboxMessage
from lysbord.store.uow import Database
from tests.conftest import Clock
from tests.helpers import new_referral
from tests.hl7_out.conftest import drain, ehr, routed, through_report
from tests.hl7_out.receiver import UTF8, Charset, Receiver, field
from tests.integration.api_fixtures import api_fixture, ok, problem

__all__ = ["api_fixture"]

#: What one procedure's way from booking to report sends, in order.
PATHWAY = ["SIU^S12", "ORM^O01:SC", "ORM^O01:IP", "ORM^O01:CM", "ORU^R01:F"]


def _kind(message: str) -> str:
    kind = "^".join(field(message, "MSH", 9).split("^")[:2])
    if kind == "ORM^O01":
        return f"{kind}:{field(message, 'ORC', 5)}"
    if kind == "ORU^R01":
        return f"{kind}:{field(message, 'OBR', 25)}"
    return kind


def _rows(ctx: Context) -> list[OutboxMessage]:
    with ctx.uow(readonly=True) as uow:
        rows = list(uow.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))
        uow.session.expunge_all()  # plain values after the read-only unit of work ends
        return rows


def _by_patient(messages: list[str]) -> dict[str, list[str]]:
    lines: dict[str, list[str]] = defaultdict(list)
    for m in messages:
        lines[field(m, "PID", 3).split("^")[0]].append(_kind(m))
    return dict(lines)


def test_a_pathway_reaches_the_receiver_in_order_with_danish_names(
    ctx: Context, receiver: Receiver
) -> None:
    ctx = routed(ctx, ehr(receiver.port))
    referral = new_referral(ctx)
    through_report(ctx, referral.procedures[0].accession, "Ærø | Søren ^ Åse & ~ \\ ok")
    worker = DeliveryWorker(ctx)
    assert drain(worker) == len(PATHWAY)
    worker.close_connections()
    assert [_kind(m) for m in receiver.messages] == PATHWAY
    oru = receiver.messages[-1]
    assert field(oru, "PID", 5) == "Sørensen^Åse"
    assert field(oru, "OBX", 5) == "Ærø \\F\\ Søren \\S\\ Åse \\T\\ \\R\\ \\E\\ ok"
    assert field(oru, "OBX", 11) == "F" and field(oru, "OBX", 16) == "Dr. Ærø"
    assert field(receiver.messages[0], "SCH", 25) == "Booked"
    assert field(receiver.messages[0], "AIS", 4).startswith("20261123080000+0100")
    assert field(receiver.messages[1], "ZDS", 1).startswith(referral.procedures[0].study_uid)
    assert {r.status for r in _rows(ctx)} == {"sent"}


def test_subscriptions_filter_what_each_destination_gets(ctx: Context, receiver: Receiver) -> None:
    other = Receiver().start()
    try:
        ctx = routed(
            ctx,
            ehr(receiver.port, "ORU"),
            ehr(other.port, "SIU").model_copy(update={"name": "ris2"}),
        )
        through_report(ctx, new_referral(ctx).procedures[0].accession)
        worker = DeliveryWorker(ctx)
        drain(worker)
        worker.close_connections()
        assert [_kind(m) for m in receiver.messages] == ["ORU^R01:F"]
        assert [_kind(m) for m in other.messages] == ["SIU^S12"]
    finally:
        other.stop()


def test_rescheduling_and_cancelling_send_s13_and_s15(ctx: Context, receiver: Receiver) -> None:
    ctx = routed(ctx, ehr(receiver.port, "SIU", "ORM"))
    accession = new_referral(ctx).procedures[0].accession
    first, second = booking.find_slots(ctx, booking.SlotSearch(accession))[:2]
    booking.book(ctx, accession, first.slot_id, "tester")
    view = booking.book(ctx, accession, second.slot_id, "tester")
    booking.cancel_appointment(ctx, view.id, "Patienten er indlagt", "tester")
    procedures.act(ctx, accession, Action.CANCEL, "tester", "Henvisning trukket tilbage")
    worker = DeliveryWorker(ctx)
    drain(worker)
    worker.close_connections()
    assert [_kind(m) for m in receiver.messages] == [
        "SIU^S12",
        "ORM^O01:SC",
        "SIU^S13",
        "ORM^O01:SC",
        "SIU^S15",
        "ORM^O01:CA",
    ]
    s15 = receiver.messages[4]
    assert field(s15, "SCH", 25) == "Cancelled"
    assert field(s15, "SCH", 6) == "CANCELLED^Cancelled: Patienten er indlagt^L"
    assert field(s15, "SCH", 2) == f"{view.id}^LYSBORD"
    assert field(receiver.messages[5], "ORC", 16) == "^Henvisning trukket tilbage"


def test_receiver_down_for_a_while_gets_everything_in_order_per_patient(
    ctx: Context, clock: Clock, down_port: int
) -> None:
    ctx = routed(ctx, ehr(down_port), max_attempts=10)
    accessions = [new_referral(ctx).procedures[0].accession for _ in range(3)]
    for accession in accessions:
        through_report(ctx, accession)
    worker = DeliveryWorker(ctx)
    for _ in range(4):  # down: each round costs one attempt on one message, nothing is lost
        assert worker.run_once() == 0
        clock.advance(seconds=30)
        time.sleep(0.05)
        worker._resting.clear()  # noqa: SLF001 (the destination's own rest is real time)
    rows = _rows(ctx)
    assert {r.status for r in rows} == {"pending"}
    assert 1 <= sum(r.attempts for r in rows) <= 4
    assert "cannot connect" in (rows[0].last_error or "")

    receiver = Receiver(port=down_port).start()
    try:
        clock.advance(minutes=10)
        assert drain(worker) == 3 * len(PATHWAY)
        worker.close_connections()
    finally:
        receiver.stop()
    assert sorted(receiver.control_ids()) == sorted(f"LBO{r.id}" for r in rows)  # once each
    assert list(_by_patient(receiver.messages).values()) == [PATHWAY] * 3
    assert {r.status for r in _rows(ctx)} == {"sent"}


def test_dead_letter_after_max_attempts_then_resend_through_the_api(
    ctx: Context, clock: Clock, receiver: Receiver, api: TestClient
) -> None:
    refuse = {"on": True}
    receiver.answer = lambda m: "AE" if refuse["on"] and m.split("\r")[0].count("SIU") else "AA"
    ctx = routed(ctx, ehr(receiver.port, "SIU", "ORM"), max_attempts=3)
    api.app.state.ctx = ctx  # type: ignore[attr-defined]
    accession = new_referral(ctx).procedures[0].accession
    slot = booking.find_slots(ctx, booking.SlotSearch(accession))[0]
    booking.book(ctx, accession, slot.slot_id, "tester")
    worker = DeliveryWorker(ctx)
    worker.run_once()
    assert [_kind(m) for m in receiver.messages] == ["SIU^S12"]  # the ORM waits behind it
    for _ in range(2):
        clock.advance(minutes=5)
        worker.run_once()
    clock.advance(minutes=5)
    worker.run_once()  # the S12 is dead, so the line moves on to the ORM
    worker.close_connections()
    assert [_kind(m) for m in receiver.messages] == ["SIU^S12"] * 3 + ["ORM^O01:SC"]

    dead = ok(api.get("/api/v1/hl7/outbox", params={"status": "dead"}))
    assert dead["total"] == 1
    item = dead["items"][0]
    assert item["message_type"] == "SIU^S12" and item["attempts"] == 3
    assert item["last_error"].startswith("attempt 3: AE: test says AE")
    assert ok(api.get("/api/v1/hl7/outbox", params={"destination": "nowhere"}))["total"] == 0
    problem(api.post("/api/v1/hl7/outbox/999999/resend"), 404, "message_id")

    refuse["on"] = False
    again = ok(api.post(f"/api/v1/hl7/outbox/{item['id']}/resend"))
    assert again["status"] == "pending" and again["attempts"] == 0
    problem(api.post(f"/api/v1/hl7/outbox/{item['id']}/resend"), 409, "status")
    assert drain(worker) == 1
    worker.close_connections()
    assert receiver.control_ids()[-1] == f"LBO{item['id']}"
    sent = ok(api.get("/api/v1/hl7/outbox", params={"status": "sent"}))
    assert sent["total"] == 2


def test_restart_mid_way_loses_nothing_and_resends_nothing_acknowledged(
    ctx: Context, receiver: Receiver
) -> None:
    def slow(_message: str) -> str:
        time.sleep(0.02)
        return "AA"

    receiver.answer = slow
    ctx = routed(ctx, ehr(receiver.port), batch_size=5)
    for _ in range(4):
        through_report(ctx, new_referral(ctx).procedures[0].accession)
    live = Context(ctx.db, ctx.settings, clock=utc_now)
    first = DeliveryWorker(live)
    first.start()
    deadline = time.monotonic() + 30
    while len(receiver.messages) < 5 and time.monotonic() < deadline:
        time.sleep(0.01)
    first.stop()
    midway = len(receiver.messages)
    assert 5 <= midway < 4 * len(PATHWAY)

    second = DeliveryWorker(live)
    second.start()
    while len(receiver.messages) < 4 * len(PATHWAY) and time.monotonic() < deadline:
        time.sleep(0.01)
    second.stop()
    ids = receiver.control_ids()
    assert sorted(ids) == sorted(f"LBO{r.id}" for r in _rows(ctx))  # each exactly once
    assert {r.status for r in _rows(ctx)} == {"sent"}


def test_a_crashed_worker_s_lease_expires_and_the_message_goes_once(
    ctx: Context, clock: Clock, receiver: Receiver
) -> None:
    ctx = routed(ctx, ehr(receiver.port, "ORU"))
    through_report(ctx, new_referral(ctx).procedures[0].accession)
    worker = DeliveryWorker(ctx)
    crashed = outbox_queue.claim(ctx, 10, worker.lease)  # claimed, then the process died
    assert [c.message_type for c in crashed] == ["ORU^R01"]
    assert worker.run_once() == 0  # leased: nobody else may send it yet
    clock.advance(seconds=worker.lease.total_seconds() + 1)
    assert worker.run_once() == 1
    assert worker.run_once() == 0
    worker.close_connections()
    assert receiver.control_ids() == [f"LBO{crashed[0].id}"]


#: A refusal a Danish EHR might send, with every letter ASCII lacks.
DANISH_REASON = "Ukendt patient Søren Ærø, Åse Ørsted"


@pytest.mark.parametrize(
    ("charset", "default_charset"),
    [
        (Charset("8859/1", "latin-1"), "ASCII"),  # the ACK's MSH-18 says so
        (Charset("", "latin-1"), "8859/1"),  # empty MSH-18: [hl7] default_charset
        (UTF8, "8859/1"),  # MSH-18 wins over the default
    ],
    ids=["msh18-8859-1", "default-8859-1", "msh18-utf-8"],
)
def test_a_refusal_is_read_in_the_receiver_s_character_set(
    ctx: Context, receiver: Receiver, charset: Charset, default_charset: str
) -> None:
    receiver.answer = lambda _m: "AE"
    receiver.charset, receiver.reason = charset, DANISH_REASON
    ctx = routed(ctx, ehr(receiver.port, "ORU"))
    hl7 = ctx.settings.hl7.model_copy(update={"default_charset": default_charset})
    ctx = replace(ctx, settings=ctx.settings.model_copy(update={"hl7": hl7}))
    through_report(ctx, new_referral(ctx).procedures[0].accession)
    worker = DeliveryWorker(ctx)
    assert worker.run_once() == 0
    worker.close_connections()
    (row,) = _rows(ctx)
    assert row.status == OutboxStatus.PENDING
    assert row.last_error == f"attempt 1: AE: {DANISH_REASON}"


def test_no_ack_in_time_is_a_failed_attempt(ctx: Context, clock: Clock, receiver: Receiver) -> None:
    receiver.answer = lambda _m: None
    ctx = routed(ctx, ehr(receiver.port, "ORU"), ack_timeout_seconds=0.3)
    through_report(ctx, new_referral(ctx).procedures[0].accession)
    worker = DeliveryWorker(ctx)
    assert worker.run_once() == 0
    (row,) = _rows(ctx)
    assert row.status == OutboxStatus.PENDING and row.attempts == 1
    assert "no acknowledgment within 0.3 s" in (row.last_error or "")


def test_two_nodes_share_the_outbox_without_doubles_or_disorder(
    ctx: Context, receiver: Receiver
) -> None:
    ctx = routed(ctx, ehr(receiver.port), batch_size=4)
    for _ in range(6):
        through_report(ctx, new_referral(ctx).procedures[0].accession)
    url = ctx.db.engine.url.render_as_string(hide_password=False)
    nodes = [Context(Database(make_engine(url)), ctx.settings, clock=utc_now) for _ in range(2)]
    workers = [DeliveryWorker(node) for node in nodes]
    try:
        for w in workers:
            w.start()
        deadline = time.monotonic() + 60
        while len(receiver.messages) < 6 * len(PATHWAY) and time.monotonic() < deadline:
            time.sleep(0.02)
        for w in workers:
            w.stop()
    finally:
        for node in nodes:
            node.db.dispose()
    assert sorted(receiver.control_ids()) == sorted(f"LBO{r.id}" for r in _rows(ctx))
    assert list(_by_patient(receiver.messages).values()) == [PATHWAY] * 6
