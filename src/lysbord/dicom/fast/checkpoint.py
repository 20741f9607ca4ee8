"""pynetdicom's reactor pause, made race-free for every association (``Checkpoint``)."""

from __future__ import annotations

import threading
import weakref
from typing import Any


class Checkpoint(threading.Event):
    """pynetdicom's reactor pause, made race-free for every association.

    A ``send_*()`` clears the checkpoint, waits for ``_is_paused``, sends its request and
    takes the response off the DIMSE queue; the reactor sets ``_is_paused``, waits on the
    checkpoint, then unsets the flag and looks at that same queue. A reactor that had
    just passed the wait still showed the flag, the sender went on, and the reactor took
    its response ("Received unexpected C-STORE service message", then a DIMSE timeout:
    a C-MOVE sub-operation lost on a fast peer). Here the reactor unsets the flag while
    still inside the wait, under the lock ``clear()`` takes, and a reactor woken by a
    ``set()`` that was cleared again before it ran waits on.
    """

    def __init__(self, owner: Any) -> None:
        super().__init__()
        self._owner = weakref.ref(owner)
        self._guard = threading.Lock()

    def clear(self) -> None:
        with self._guard:
            super().clear()

    def wait(self, timeout: float | None = None) -> bool:
        if timeout is not None:  # pynetdicom's reactor never gives one
            return super().wait(timeout)
        while True:
            with self._guard:
                if self.is_set():
                    owner = self._owner()
                    if owner is not None:
                        owner._is_paused = False
                    return True
            super().wait()


def wrap_init(original: Any) -> Any:
    """``Association.__init__``, then a ``Checkpoint`` for its reactor's pause."""

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        self._reactor_checkpoint = Checkpoint(self)
        self._reactor_checkpoint.set()

    return __init__
