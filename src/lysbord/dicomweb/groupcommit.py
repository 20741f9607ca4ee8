"""Group commit for STOW-RS: parts whose blobs are durable wait here, indexed together.

A STOW-RS part costs an fsync for its blob and a COMMIT (an fsync of the database's
log) for its index row. Blobs are written a few at a time in threads, their fsyncs
overlapping; the index rows of every part that became durable while the previous
transaction ran go into the next one (``store.groupcommit``), so one COMMIT serves many
parts, from every request of this process. One batch at a time: SQLite thereby has a
single writer instead of threads waiting on its lock. Each part's answer is given only
once its own transaction committed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from lysbord.dicomweb.storing import Durable, Result, index
from lysbord.services.archive.storing import InstanceIds
from lysbord.services.core.context import Context
from lysbord.store.groupcommit import GroupCommit

#: At most this many parts per transaction, so that one commit never grows long.
MAX_BATCH = 64
#: Threads for STOW-RS's blocking steps (writing blobs, indexing batches): the loop's own
#: executor, not anyio's, whose checks on every call cost more than a part's trip here.
THREADS = ThreadPoolExecutor(max_workers=32, thread_name_prefix="stow")
R = TypeVar("R")


async def in_thread(work: Callable[..., R], *args: Any) -> R:
    return await asyncio.get_running_loop().run_in_executor(THREADS, work, *args)


def stow_group_commit(
    index_batch: Callable[[list[Durable]], list[Result]],
) -> GroupCommit[Durable, Result]:
    return GroupCommit(index_batch, in_thread, max_batch=MAX_BATCH)


def group_commit_for(state: Any, ctx: Context, ids: InstanceIds) -> GroupCommit[Durable, Result]:
    """The process's group commit, shared by every STOW-RS request."""
    found: GroupCommit[Durable, Result] | None = getattr(state, "group_commit", None)
    if found is None:
        found = state.group_commit = stow_group_commit(lambda batch: index(ctx, ids, batch))
    return found
