"""Patient merges in the demo (IHE Patient Information Reconciliation).

Unidentified patients imaged under a replacement number are merged into their real
CPR record once identified; one patient registered twice is merged; and one merge
of the wrong two people is undone, so the merge history shows every kind of entry.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import timedelta

from lysbord.demo import texts
from lysbord.demo.people import Person
from lysbord.demo.runner import Runner
from lysbord.domain.cpr import IdKind, parse_person_number
from lysbord.services.people import patients

ACTOR = "demo-patientadministration"
MAX_IDENTIFIED = 5


def play_merges(runner: Runner, people: Sequence[Person], rng: random.Random) -> tuple[int, int]:
    """Merge replacement numbers into CPR records, and undo one wrong merge.

    Returns (merges made, merges undone). One replacement number is left unmerged:
    some patients stay unidentified, and the system must carry them as they are.
    """
    replaced = [p for p in people if not p.cpr.isdigit()][:-1][:MAX_IDENTIFIED]
    real = [p for p in people if p.cpr.isdigit()]
    targets = rng.sample(real, len(replaced) + 2)
    for i, (source, target) in enumerate(zip(replaced, targets, strict=False)):
        kind = parse_person_number(source.cpr).kind
        reason = texts.MERGE_FOUND if kind is IdKind.X_ECPR else texts.MERGE_DUPLICATE
        at = runner.now - timedelta(hours=2 + 5 * i)
        patients.merge_patients(runner.at(at), source.cpr, target.cpr, reason, ACTOR)
    wrong_source, wrong_target = targets[-2:]
    merged = patients.merge_patients(
        runner.at(runner.now - timedelta(days=2)),
        wrong_source.cpr,
        wrong_target.cpr,
        texts.MERGE_WRONG,
        ACTOR,
    )
    merge_id = max(m.id for m in merged.merges if m.undone_at is None)
    patients.undo_merge(
        runner.at(runner.now - timedelta(days=1)), merge_id, texts.UNDO_WRONG, ACTOR
    )
    return len(replaced) + 1, 1
