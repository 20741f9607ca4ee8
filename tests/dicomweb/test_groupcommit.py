"""Group commit of STOW-RS parts: what becomes durable while a transaction runs goes into
the next one; each part is answered after its own commit; a part the database refuses
fails alone; concurrent requests are all stored."""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlalchemy.exc import IntegrityError

from lysbord.dicomweb import storing
from lysbord.dicomweb.groupcommit import stow_group_commit
from lysbord.dicomweb.multipart import Part
from lysbord.dicomweb.storing import Durable, Result, index, make_durable, outcome
from lysbord.services.archive.storing import InstanceIds, Received, index_instances
from lysbord.services.core.context import Context
from lysbord.store.blobs import BlobStore, Stored
from tests.dicomweb.helpers import body, ct, part10, post
from tests.dicomweb.test_stow import count
from tests.helpers import random_cpr, run_loop


def durable(n: int) -> Durable:
    received = Received("1.2", f"1.2.3.{n}", "1.2.840.10008.1.2.1", {})
    return Durable(received, Stored(f"{n:064x}", 1, True), n, {})


def test_parts_that_wait_during_a_commit_share_the_next_one() -> None:
    batches: list[list[int]] = []
    first_running, release = threading.Event(), threading.Event()

    def index_batch(batch: list[Durable]) -> list[Result]:
        batches.append([d.part for d in batch])
        first_running.set()
        release.wait(30)
        return [outcome(True, 0, "", part=d.part) for d in batch]

    async def run() -> list[Result]:
        commits = stow_group_commit(index_batch)
        first = asyncio.create_task(commits.submit(durable(1)))
        while not first_running.is_set():
            await asyncio.sleep(0.001)
        rest = [asyncio.create_task(commits.submit(durable(n))) for n in (2, 3, 4)]
        await asyncio.sleep(0.01)
        release.set()
        return await asyncio.gather(first, *rest)

    results = run_loop(run)
    assert batches == [[1], [2, 3, 4]]
    assert [r.part for r in results] == [1, 2, 3, 4]  # each part gets its own answer


def test_a_bug_in_indexing_reaches_every_waiting_part() -> None:
    def index_batch(batch: list[Durable]) -> list[Result]:
        raise RuntimeError("bug")

    async def run() -> list[Result | BaseException]:
        commits = stow_group_commit(index_batch)
        tasks = [commits.submit(durable(n)) for n in (1, 2)]
        return await asyncio.gather(*tasks, return_exceptions=True)

    assert [str(r) for r in run_loop(run)] == ["bug", "bug"]


def test_a_part_the_database_refuses_fails_alone(
    bare_ctx: Context, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sent = ct(tmp_path, 3, patient_id=random_cpr())
    blobs = BlobStore(tmp_path / "blobs")
    ready = [make_durable(blobs, Part({}, part10(ds), n), None) for n, ds in enumerate(sent, 1)]
    assert all(isinstance(d, Durable) for d in ready)
    refused = sent[1].SOPInstanceUID

    def refusing(ctx: Context, items: list[tuple[Received, Stored]], ids: InstanceIds) -> object:
        if any(item.sop_instance_uid == refused for item, _ in items):
            raise IntegrityError("INSERT", {}, Exception("refused"))
        return index_instances(ctx, items, ids)

    monkeypatch.setattr(storing, "index_instances", refusing)
    results = index(bare_ctx, InstanceIds(), [d for d in ready if isinstance(d, Durable)])
    assert [(r.part, r.stored, r.reason_code) for r in results] == [
        (1, True, 0),
        (2, False, 0xA700),
        (3, True, 0),
    ]
    assert results[1].sop_instance_uid == refused
    assert count(bare_ctx) == 2


def test_concurrent_requests_are_all_stored(
    bare_ctx: Context, dicomweb_url: str, tmp_path: Path
) -> None:
    studies = [ct(tmp_path / f"s{i}", 6, patient_id=random_cpr()) for i in range(4)]
    bodies = [body(*[("application/dicom", part10(ds)) for ds in sent]) for sent in studies]
    with ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(lambda b: post(f"{dicomweb_url}/studies", b), bodies))
    assert [a.status_code for a in answers] == [200] * 4
    assert [len(a.json()["00081199"]["Value"]) for a in answers] == [6] * 4
    assert count(bare_ctx) == 24
