"""ADT in: A01/A04/A05/A08/A31 register or update, A40 merges, A47 changes an identifier.

HL7 v2.5.1 §3.3: in A40 PID-3 is the surviving patient and MRG-1 the one merged
away; in A47 PID-3 is the correct identifier and MRG-1 the incorrect one. A40 and
A47 may repeat the PID/MRG pair; each pair is applied in order, all in one
transaction.
"""

from __future__ import annotations

from datetime import datetime

import hl7
from sqlalchemy.orm import Session

from lysbord.domain.errors import Msg
from lysbord.hl7 import parse as p
from lysbord.hl7.ack import Location, Problem, ack
from lysbord.hl7.content import Handler, located, refuse, required
from lysbord.hl7.mapping import cpr_of
from lysbord.hl7.parse import Parsed, segments, value
from lysbord.services.core.context import Context
from lysbord.services.messaging import adt
from lysbord.services.people.patients import merge_records

UPSERTS = ("A01", "A04", "A05", "A08", "A31")


def actor_of(parsed: Parsed) -> str:
    return f"hl7:{parsed.header.sender_app or 'unknown'}"[:64]


def answer(ctx: Context, parsed: Parsed) -> str:
    s = ctx.settings.hl7
    return ack(parsed.header, "AA", us=(s.application, s.facility))


def refused(ctx: Context, parsed: Parsed, problem: Problem) -> str:
    s = ctx.settings.hl7
    return ack(parsed.header, "AE", problem, us=(s.application, s.facility))


def the_pid(parsed: Parsed) -> hl7.Segment:
    found = segments(parsed.message, "PID")
    if not found:
        raise refuse(Location("PID"), Msg("the message has no PID segment"), p.SEGMENT_SEQUENCE)
    return found[0]


def apply_upsert(ctx: Context, s: Session, parsed: Parsed, now: datetime) -> str:
    pid = the_pid(parsed)
    cpr = required(cpr_of(pid), Location("PID", 3))
    facts = adt.PatientFacts(cpr, value(pid, 5, 1), value(pid, 5, 2))
    with located(Location("PID", 3), family_name=Location("PID", 5)):
        adt.upsert_patient(ctx, s, facts, actor_of(parsed), now)
    return answer(ctx, parsed)


def _pairs(parsed: Parsed) -> list[tuple[int, str, str, str]]:
    """Each PID/MRG pair: (its number, PID-3's CPR, MRG-1's, the reason to record)."""
    pids, mrgs = segments(parsed.message, "PID"), segments(parsed.message, "MRG")
    if not pids or len(pids) != len(mrgs):
        raise refuse(
            Location("MRG"),
            Msg(
                "needs one MRG after each PID ({pids} PID, {mrgs} MRG)",
                pids=len(pids),
                mrgs=len(mrgs),
            ),
            p.SEGMENT_SEQUENCE,
        )
    h = parsed.header
    reason = f"{h.type_code} {h.control_id} from {h.sender_app}"
    return [
        (
            n,
            required(cpr_of(pid), Location("PID", 3, n)),
            required(value(mrg, 1), Location("MRG", 1, n)),
            reason,
        )
        for n, (pid, mrg) in enumerate(zip(pids, mrgs, strict=True), 1)
    ]


def apply_merge(ctx: Context, s: Session, parsed: Parsed, now: datetime) -> str:
    for n, target, source, reason in _pairs(parsed):
        with located(Location("MRG", 1, n), target_cpr=Location("PID", 3, n)):
            merge_records(s, source, target, reason, actor_of(parsed), now)
    return answer(ctx, parsed)


def apply_identifier_change(ctx: Context, s: Session, parsed: Parsed, now: datetime) -> str:
    for n, right, wrong, reason in _pairs(parsed):
        with located(Location("PID", 3, n), prior_cpr=Location("MRG", 1, n)):
            adt.change_identifier(ctx, s, wrong, right, reason, actor_of(parsed), now)
    return answer(ctx, parsed)


HANDLERS = {
    **{f"ADT^{t}": Handler(apply_upsert, refused) for t in UPSERTS},
    "ADT^A40": Handler(apply_merge, refused),
    "ADT^A47": Handler(apply_identifier_change, refused),
}
