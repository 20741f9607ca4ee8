"""Group commit: frames arriving together are applied in one transaction, answered after it."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session

from lysbord.domain.errors import DomainError, Msg, NotFound
from lysbord.hl7.door import Hl7Door
from lysbord.hl7.inbound import handle_together
from lysbord.services.core.context import Context
from lysbord.services.messaging import inbox, inbox_queries
from lysbord.services.pathway import referral_queries
from tests.helpers import new_patient
from tests.hl7_in.conftest import MllpClient, sample, segment


def _order(cpr: str, control_id: str | None = None) -> bytes:
    cid = control_id or uuid.uuid4().hex
    return sample("orm_o01_nw.hl7", cpr=cpr, id=cid, placer=uuid.uuid4().hex[:10])


def _referrals(ctx: Context, cpr: str) -> int:
    return referral_queries.list_referrals(ctx, referral_queries.ReferralFilter(cpr=cpr))[1]


@contextmanager
def _commits(ctx: Context) -> Iterator[list[int]]:
    seen: list[int] = []

    def on_commit(_conn: Any) -> None:
        seen.append(1)

    event.listen(ctx.db.engine, "commit", on_commit)
    try:
        yield seen
    finally:
        event.remove(ctx.db.engine, "commit", on_commit)


def test_frames_arriving_together_share_one_commit(ctx: Context) -> None:
    cprs = [new_patient(ctx) for _ in range(5)]
    with _commits(ctx) as commits:
        answers = handle_together(ctx, [(_order(cpr), "test") for cpr in cprs])
    assert [segment(a, "MSA")[1] for a in answers] == ["AA"] * 5
    assert len(commits) == 1
    assert all(_referrals(ctx, cpr) == 1 for cpr in cprs)


def test_one_bad_frame_sends_its_batch_one_by_one(ctx: Context) -> None:
    """A refused order, a copy and unreadable bytes among good orders: each gets the answer
    it would get alone, and every good order is applied exactly once."""
    first, second = new_patient(ctx), new_patient(ctx)
    copied = _order(first)
    frames = [copied, _order("0000000000"), _order(second), copied, b"not HL7 at all"]
    answers = handle_together(ctx, [(raw, "test") for raw in frames])
    assert [segment(a, "MSA")[1] for a in answers[:4]] == ["AA", "AE", "AA", "AA"]
    assert answers[3] == answers[0]
    assert b"MSA|AR" in answers[4]
    assert _referrals(ctx, first) == 1
    assert _referrals(ctx, second) == 1
    assert inbox_queries.list_messages(ctx, inbox_queries.InboxFilter(status="rejected"))[1] == 2


def test_eight_connections_each_get_their_own_answers(ctx: Context, hl7_door: Hl7Door) -> None:
    cprs = [new_patient(ctx) for _ in range(8)]

    def send(cpr: str) -> list[str]:
        client = MllpClient(hl7_door.port)
        ids = [uuid.uuid4().hex for _ in range(4)]
        answered = [segment(client.call(_order(cpr, cid)), "MSA")[1:3] for cid in ids]
        client.close()
        assert [control_id for _, control_id in answered] == ids
        return [code for code, _ in answered]

    with ThreadPoolExecutor(8) as pool:
        codes = [c for per_connection in pool.map(send, cprs) for c in per_connection]
    assert codes == ["AA"] * 32
    assert all(_referrals(ctx, cpr) == 4 for cpr in cprs)


def test_a_refused_message_is_applied_once_alone_and_twice_in_a_batch(ctx: Context) -> None:
    """Refusals are not tried again in a second transaction; a copy gets the stored answer."""
    tries: list[str] = []

    def steps(name: str, refused: bool) -> tuple[inbox.Apply, inbox.Refuse]:
        def apply(_s: Session, _now: datetime) -> inbox.Outcome:
            tries.append(name)
            if refused:
                raise NotFound(Msg("no such order"), field="ORC-2", value=name)
            return inbox.Outcome(inbox.APPLIED, f"AA {name}".encode())

        def refuse(exc: DomainError) -> inbox.Outcome:
            return inbox.Outcome(inbox.REJECTED, f"AE {name}".encode(), exc.message)

        return apply, refuse

    def message(name: str) -> inbox.Received:
        return inbox.Received(name.encode(), sender_app="TEST", control_id=uuid.uuid4().hex)

    alone = message("alone")
    assert inbox.receive(ctx, alone, *steps("alone", refused=True)) == b"AE alone"
    assert inbox.receive(ctx, alone, *steps("alone", refused=True)) == b"AE alone"
    assert tries == ["alone", "alone"]  # once each: the copy's refusal found the original
    tries.clear()
    good, bad = message("good"), message("bad")
    batch = [(good, steps("good", False)[0]), (bad, steps("bad", True)[0])]
    assert inbox.receive_together(ctx, batch) is None
    assert inbox.receive(ctx, bad, *steps("bad", refused=True)) == b"AE bad"
    assert tries == ["good", "bad", "bad"]
