"""Outbound HL7: delivery rate over MLLP to a local receiver that ACKs at once.

One real pathway (book, examine, report) gives a realistic ORU^R01 payload; the
outbox is then filled with copies of it (Core inserts) and one ``DeliveryWorker``
drains it round by round, each message sent, acknowledged and recorded. Two shapes:
many patients (the usual feed: a batch spans many lines) and one patient (every
message waits for the one before it: one message per round).
"""

from __future__ import annotations

import multiprocessing
import time
from dataclasses import replace
from multiprocessing.connection import Connection

from sqlalchemy import insert, select

from bench.common import BACKENDS, Row, backend_context, console
from lysbord.config.hl7_out import Hl7Destination, Hl7OutSettings
from lysbord.hl7.worker import DeliveryWorker
from lysbord.services.core.context import Context
from lysbord.services.core.outbox import subscribe
from lysbord.services.pathway import booking, procedures, reports
from lysbord.services.pathway.procedures import Action
from lysbord.store.outbox_models import OutboxMessage
from tests.helpers import build_small_region, new_referral
from tests.hl7_out.receiver import Receiver

SUITE = "hl7_out"
MESSAGES = 2000
SHAPES = (("200 patients", 200), ("1 patient", 1))


def routed(ctx: Context, port: int) -> Context:
    dest = Hl7Destination(name="ehr", host="127.0.0.1", port=port, messages=["ORU"])
    out = Hl7OutSettings(destinations=[dest], batch_size=100)
    ctx = replace(ctx, settings=ctx.settings.model_copy(update={"hl7_out": out}))
    subscribe(ctx.db.engine, out)
    return ctx


def one_report(ctx: Context) -> OutboxMessage:
    """The outbox row of one real final report."""
    accession = new_referral(ctx).procedures[0].accession
    slot = booking.find_slots(ctx, booking.SlotSearch(accession))[0]
    booking.book(ctx, accession, slot.slot_id, "bench")
    for action in (Action.ARRIVE, Action.START, Action.COMPLETE):
        procedures.act(ctx, accession, action, "bench")
    text = "Ingen fortætninger.\nIngen pleuraeffusion.\nKonklusion: normal thorax."
    reports.write_report(ctx, accession, text=text, author="Søren Ærø", final=True)
    with ctx.uow() as uow:
        row = uow.session.scalars(select(OutboxMessage)).one()
        uow.session.expunge(row)
    return row


def fill(ctx: Context, template: OutboxMessage, patients: int) -> None:
    rows = [
        {
            "destination": template.destination,
            "message_type": template.message_type,
            "patient_key": f"bench-{i % patients}",
            "payload": template.payload,
            "status": "pending",
            "attempts": 0,
            "created_at": template.created_at,
            "next_attempt_at": template.created_at,
        }
        for i in range(MESSAGES)
    ]
    with ctx.uow() as uow:
        uow.session.execute(insert(OutboxMessage), rows)
        uow.commit()


def drain(ctx: Context) -> tuple[float, float]:
    """Messages per second until the outbox is empty, and the sender's CPU ms per message
    (the figure that does not depend on what else the machine is doing)."""
    worker = DeliveryWorker(ctx)
    start, cpu, sent = time.perf_counter(), time.process_time(), 0
    while sent < MESSAGES:
        done = worker.run_once()
        if not done:
            raise RuntimeError(f"delivery stalled after {sent} of {MESSAGES}")
        sent += done
    worker.close_connections()
    cpu_ms = (time.process_time() - cpu) * 1000 / sent
    return sent / (time.perf_counter() - start), cpu_ms


def receive(pipe: Connection) -> None:
    """The receiver, in a process of its own (so it does not share the sender's GIL)."""
    receiver = Receiver().start()
    pipe.send(receiver.port)
    pipe.recv()  # until the parent says stop
    receiver.stop()


def run() -> list[Row]:
    rows: list[Row] = []
    ours, theirs = multiprocessing.get_context("spawn").Pipe()
    child = multiprocessing.get_context("spawn").Process(target=receive, args=(theirs,))
    child.start()
    port: int = ours.recv()
    try:
        for backend in BACKENDS:
            with backend_context(backend, SUITE) as plain:
                build_small_region(plain, weeks=1)
                ctx = routed(plain, port)
                template = one_report(ctx)
                for label, patients in SHAPES:
                    console.rule(f"hl7_out on {backend}: {MESSAGES} ORU^R01, {label}")
                    fill(ctx, template, patients)
                    rate, cpu_ms = drain(ctx)
                    rows.append(
                        Row(
                            SUITE,
                            backend,
                            f"ORU^R01 delivered with ACK, {label}",
                            f"{rate:.0f} msg/s, {cpu_ms:.2f} ms CPU/msg",
                        )
                    )
    finally:
        ours.send("stop")
        child.join(10)
    return rows
