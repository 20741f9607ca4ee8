"""Group commit: parts whose blobs are durable wait here and are indexed together.

A STOW-RS part costs an fsync for its blob and a COMMIT (an fsync of the database's
log) for its index row. Blobs are written a few at a time in threads, their fsyncs
overlapping; the index rows of every part that became durable while the previous
transaction ran go into the next one, so one COMMIT serves many parts, from every
request of this process. SQLite thereby has a single writer instead of threads waiting
on its lock. Each part's answer is given only once its own transaction committed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from starlette.concurrency import run_in_threadpool

from lysbord.dicomweb.storing import Durable, Result, index
from lysbord.services.archive import InstanceIds
from lysbord.services.context import Context

#: At most this many parts per transaction, so that one commit never grows long.
MAX_BATCH = 64


class GroupCommit:
    """One per process: ``submit`` a durable part, get its Result once it is committed."""

    def __init__(self, index_batch: Callable[[list[Durable]], list[Result]]) -> None:
        self._index = index_batch
        self._waiting: list[tuple[Durable, asyncio.Future[Result]]] = []
        self._drainer: asyncio.Task[None] | None = None

    async def submit(self, item: Durable) -> Result:
        future: asyncio.Future[Result] = asyncio.get_running_loop().create_future()
        self._waiting.append((item, future))
        if self._drainer is None:  # not tied to any one request: a client leaving stops nothing
            self._drainer = asyncio.create_task(self._drain())
        return await future

    async def _drain(self) -> None:
        """Index what waits, a batch per transaction, until nothing waits."""
        try:
            while self._waiting:
                batch = self._waiting[:MAX_BATCH]
                del self._waiting[:MAX_BATCH]
                try:
                    results = await run_in_threadpool(self._index, [item for item, _ in batch])
                except asyncio.CancelledError:  # the server is stopping
                    for _, future in batch + self._waiting:
                        future.cancel()
                    raise
                except Exception as exc:  # index() answers failures itself: this is a bug
                    for _, future in batch:
                        if not future.done():
                            future.set_exception(exc)
                    continue
                for (_, future), result in zip(batch, results, strict=True):
                    if not future.done():  # done: its request was cancelled
                        future.set_result(result)
        finally:
            self._drainer = None


def group_commit_for(state: Any, ctx: Context, ids: InstanceIds) -> GroupCommit:
    """The process's group commit, shared by every STOW-RS request."""
    found: GroupCommit | None = getattr(state, "group_commit", None)
    if found is None:
        found = state.group_commit = GroupCommit(lambda batch: index(ctx, ids, batch))
    return found
