"""A context whose events go to one or two test receivers, and a worker to send them."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import pytest

from lysbord.config.hl7_out import Hl7Destination, Hl7OutSettings
from lysbord.hl7.worker import DeliveryWorker
from lysbord.services.core.context import Context
from lysbord.services.core.outbox import subscribe
from lysbord.services.pathway import booking, procedures, reports
from lysbord.services.pathway.procedures import Action
from tests.hl7_out.receiver import Receiver, closed_port

FAST = {
    "backoff_base_seconds": 1.0,
    "backoff_cap_seconds": 8.0,
    "ack_timeout_seconds": 2.0,
    "connect_timeout_seconds": 2.0,
    "poll_seconds": 0.05,
    "max_attempts": 4,
}


def routed(ctx: Context, *dests: Hl7Destination, **options: object) -> Context:
    """``ctx`` with these destinations subscribed (its engine's events go to the outbox)."""
    out = Hl7OutSettings.model_validate({"destinations": dests} | FAST | options)
    ctx = replace(ctx, settings=ctx.settings.model_copy(update={"hl7_out": out}))
    subscribe(ctx.db.engine, out)
    return ctx


def ehr(port: int, *families: str) -> Hl7Destination:
    return Hl7Destination.model_validate(
        {"name": "ehr", "host": "127.0.0.1", "port": port}
        | ({"messages": list(families)} if families else {})
    )


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver().start()
    yield r
    r.stop()


@pytest.fixture
def down_port() -> int:
    return closed_port()


def drain(worker: DeliveryWorker, rounds: int = 50) -> int:
    """Run rounds until one sends nothing; how many messages were acknowledged."""
    total = 0
    for _ in range(rounds):
        sent = worker.run_once()
        if not sent:
            return total
        total += sent
    return total


def examine(ctx: Context, accession: str) -> None:
    """Book and examine one procedure: SIU S12, ORM SC, IP, CM."""
    slot = booking.find_slots(ctx, booking.SlotSearch(accession))[0]
    booking.book(ctx, accession, slot.slot_id, "tester")
    for action in (Action.ARRIVE, Action.START, Action.COMPLETE):
        procedures.act(ctx, accession, action, "tester")


def through_report(ctx: Context, accession: str, text: str = "Normal thorax.") -> None:
    """Book, examine and report one procedure: SIU S12, ORM SC/IP/CM, ORU F."""
    examine(ctx, accession)
    reports.write_report(ctx, accession, text=text, author="Dr. Ærø", final=True)
