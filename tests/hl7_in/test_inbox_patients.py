"""The inbox by patient: every number the person ever had finds the same messages.

An unidentified patient is registered under a replacement number, later identified
(A47 adds the CPR) and merged (A40) into a record that already had messages. Asked by
any of the numbers, the inbox shows every message of the person; undone, the merge
splits them again. A number nobody is registered under still matches literally.
"""

from __future__ import annotations

import uuid

from lysbord.services.core.context import Context
from lysbord.services.messaging import inbox_queries
from lysbord.services.people import patients, registration
from tests.helpers import random_cpr, random_replacement_number
from tests.hl7_in.conftest import MllpClient, sample, segment


def send(client: MllpClient, name: str, code: str = "AA", **values: str) -> str:
    """Send one sample with a fresh control ID; check its answer; return the control ID."""
    control_id = uuid.uuid4().hex[:16]
    answer = client.call(sample(name, id=control_id, **values))
    assert segment(answer, "MSA")[1] == code, answer
    return control_id


def found(ctx: Context, cpr: str) -> set[str]:
    """The control IDs the inbox lists for this number (all of them: one page)."""
    items, total = inbox_queries.list_messages(ctx, inbox_queries.InboxFilter(cpr=cpr, limit=500))
    assert total == len(items)
    return {m.control_id or "" for m in items}


def test_messages_follow_a_merge_by_every_number_and_split_on_undo(
    ctx: Context, client: MllpClient
) -> None:
    a, b, e, other = random_cpr(), random_cpr(), random_replacement_number(), random_cpr()
    of_a = send(client, "adt_a04_latin1.hl7", cpr=a)
    of_e = send(client, "adt_a04_latin1.hl7", cpr=e)  # unidentified: a replacement number
    of_b = send(client, "adt_a47.hl7", cpr=b, prior=e)  # identified: B is the same record
    stranger = send(client, "adt_a04_latin1.hl7", cpr=other)
    before = {number: found(ctx, number) for number in (a, b, e)}
    assert before == {a: {of_a}, b: {of_b, of_e}, e: {of_b, of_e}}

    merge = send(client, "adt_a40.hl7", cpr=a, prior=b)  # B's record into A's
    person = {of_a, of_e, of_b, merge}
    for number in (a, b, e, f"{b[:6]}-{b[6:]}", e.lower()):
        assert found(ctx, number) == person, number
    assert found(ctx, other) == {stranger}

    (merged,) = registration.get_patient(ctx, a).merges
    patients.undo_merge(ctx, merged.id, "two people after all", "tester")
    assert found(ctx, a) == {of_a, merge}
    assert found(ctx, b) == found(ctx, e) == {of_b, of_e}


def test_a_number_nobody_has_matches_literally(ctx: Context, client: MllpClient) -> None:
    unknown = random_cpr()
    order = send(client, "orm_o01_nw.hl7", "AE", cpr=unknown, placer=uuid.uuid4().hex[:8])
    send(client, "adt_a04_latin1.hl7", cpr=random_cpr())
    assert found(ctx, unknown) == {order}
    assert found(ctx, f"{unknown[:6]}-{unknown[6:]}") == {order}
    assert found(ctx, random_cpr()) == set()
