"""One listening socket shared by a door's worker processes, the least busy accepting.

``lysbord serve`` binds each port once and hands the socket to every worker process of
that door. Left alone, whichever process wakes first takes every waiting connection
(uvloop and socketserver both accept in a loop), and four clients connecting at once
often got one process three and another one: the busy one's clients then run at a
third of a core while the other core idles. So each process tells the others, in
shared memory, how many connections it serves, and one that serves more than another
leaves a waiting connection to the less busy one for a moment.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass, field
from typing import Any

YIELD_FOR = 0.002  # seconds a busier process waits before looking at a connection again
YIELD_AT_MOST = 25  # times in a row: then it takes the connection (the other may hang)


@dataclass
class Shared:
    """The listening socket of ``lysbord serve`` and every worker's connection count
    (a shared ``multiprocessing.Array`` of ints); ``slot`` is this worker's."""

    listener: socket.socket
    loads: Any
    slot: int
    _yielded: int = field(default=0, repr=False)

    def publish(self, serving: int) -> None:
        self.loads[self.slot] = serving

    def _busier_than_another(self) -> bool:
        with self.loads.get_lock():
            loads = self.loads[:]
        return bool(loads[self.slot] > min(loads))

    def defer(self, serving: int) -> bool:
        """Whether to leave the waiting connection to a less busy worker for ``YIELD_FOR``;
        never more than ``YIELD_AT_MOST`` times in a row."""
        self.publish(serving)
        if self._yielded >= YIELD_AT_MOST or not self._busier_than_another():
            self._yielded = 0
            return False
        self._yielded += 1
        return True
