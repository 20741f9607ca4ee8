"""Group commit: work that waits while a transaction runs goes into the next one.

Each committed transaction costs an fsync of the database's log, and a sender that
waits for its answer before sending more cannot hide it. Items submitted while a batch
is being applied wait here and go into the next batch: one transaction, one COMMIT
for all of them, from every connection or request of the process. Each item is
answered only after the batch it was in has committed.

The doors choose how many batches run at once (``in_flight``) and on which threads
(``run``): the HL7 door runs several on PostgreSQL, STOW-RS one per process.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")

#: Apply a batch in one transaction: one answer per item, in order, once committed.
ApplyBatch = Callable[[list[T]], list[R]]


class GroupCommit(Generic[T, R]):
    """``submit`` an item, get its answer once the batch it was applied in is committed."""

    def __init__(
        self,
        apply: ApplyBatch[T, R],
        run: Callable[[ApplyBatch[T, R], list[T]], Awaitable[list[R]]],
        *,
        in_flight: int = 1,
        max_batch: int = 32,
    ) -> None:
        self._apply, self._run_batch = apply, run
        self._in_flight, self._max_batch = in_flight, max_batch
        self._waiting: list[tuple[T, asyncio.Future[R]]] = []
        self._running: set[asyncio.Task[None]] = set()

    async def submit(self, item: T) -> R:
        future: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        self._waiting.append((item, future))
        self._start()
        return await future

    async def finish(self) -> None:
        """Wait for the batches being applied (the door is stopping)."""
        while self._running:
            await asyncio.gather(*self._running, return_exceptions=True)

    def _start(self) -> None:
        while self._waiting and len(self._running) < self._in_flight:
            batch = self._waiting[: self._max_batch]
            del self._waiting[: self._max_batch]
            # Not tied to any one sender's task: a sender leaving stops nothing.
            task = asyncio.get_running_loop().create_task(self._run(batch))
            self._running.add(task)
            task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._running.discard(task)
        if task.cancelled():  # the loop is stopping: what waits gets no answer
            for _, future in self._waiting:
                future.cancel()
            self._waiting.clear()
            return
        self._start()

    async def _run(self, batch: list[tuple[T, asyncio.Future[R]]]) -> None:
        try:
            answers = await self._run_batch(self._apply, [item for item, _ in batch])
        except asyncio.CancelledError:
            for _, future in batch:
                future.cancel()
            raise
        except Exception as exc:  # the database failed, or a bug: every item goes unanswered
            for _, future in batch:
                if not future.done():
                    future.set_exception(exc)
            return
        for (_, future), answer in zip(batch, answers, strict=True):
            if not future.done():  # done: its sender was cancelled
                future.set_result(answer)
