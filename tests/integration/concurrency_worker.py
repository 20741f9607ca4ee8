"""A second OS process that books slots, for the cross-process double-booking test.

Run as ``python -m tests.integration.concurrency_worker URL NOW JSON``, where JSON is
``{"pairs": [[accession, slot_id], ...]}``. The worker connects, prints ``ready``,
waits for a line on stdin (so both processes start together), tries every pair in
the given order and prints one JSON line: ``{"won": [...], "taken": [...],
"other": [...]}`` — accessions that got their slot, that were told SlotTaken, and
anything else (which the test treats as a failure).
"""

from __future__ import annotations

import json
import sys
from datetime import datetime
from pathlib import Path
from tempfile import TemporaryDirectory

from lysbord.config import Settings
from lysbord.domain.errors import SlotTaken
from lysbord.services.core.context import Context
from lysbord.services.pathway import booking
from lysbord.store.db import make_engine
from lysbord.store.uow import Database


def book_all(ctx: Context, pairs: list[tuple[str, int]]) -> dict[str, list[str]]:
    """Book each pair; a lost race must be SlotTaken, never anything else."""
    out: dict[str, list[str]] = {"won": [], "taken": [], "other": []}
    for accession, slot_id in pairs:
        try:
            booking.book(ctx, accession, slot_id, "worker")
            out["won"].append(accession)
        except SlotTaken:
            out["taken"].append(accession)
        except Exception as exc:  # reported to the test, which fails on it
            out["other"].append(f"{accession}: {exc!r}")
    return out


def main(url: str, now: str, job: str) -> None:
    at = datetime.fromisoformat(now)
    pairs = [(a, int(s)) for a, s in json.loads(job)["pairs"]]
    with TemporaryDirectory() as tmp:
        db = Database(make_engine(url))
        ctx = Context(db, Settings(data_dir=Path(tmp), database_url=url), lambda: at)
        print("ready", flush=True)
        sys.stdin.readline()
        result = book_all(ctx, pairs)
        db.dispose()
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main(*sys.argv[1:4])
