"""The reactor's pause (``fast.checkpoint.Checkpoint``): a sender that sees it paused may send.

pynetdicom's reactor does ``_is_paused = True; checkpoint.wait(); _is_paused = False``
and then looks at the DIMSE queue; a sender clears the checkpoint and waits for
``_is_paused``. These tests hold the two orders that let a reactor take a sender's
response to their safe outcome.
"""

from __future__ import annotations

import threading
import time

from lysbord.dicom.fast.checkpoint import Checkpoint


class Association:
    """What the checkpoint sees of one."""

    def __init__(self, paused: bool) -> None:
        self._is_paused = paused
        self.passed = False


def _reactor_pass(owner: Association, checkpoint: Checkpoint) -> threading.Thread:
    def run() -> None:
        owner._is_paused = True
        checkpoint.wait()
        owner.passed = True

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def test_a_reactor_passing_through_says_it_is_not_paused_before_it_leaves_the_wait() -> None:
    owner = Association(paused=True)
    checkpoint = Checkpoint(owner)
    checkpoint.set()
    assert checkpoint.wait() is True
    assert owner._is_paused is False  # a sender clearing now waits for the next pass


def test_a_reactor_woken_by_a_set_cleared_again_waits_on() -> None:
    owner = Association(paused=False)
    checkpoint = Checkpoint(owner)
    thread = _reactor_pass(owner, checkpoint)
    time.sleep(0.05)  # blocked: paused
    with checkpoint._guard:  # one sender's set(), the next sender's clear(), back to back
        threading.Event.set(checkpoint)
        threading.Event.clear(checkpoint)
    time.sleep(0.05)
    assert thread.is_alive() and owner._is_paused and not owner.passed
    checkpoint.set()
    thread.join(5)
    assert owner.passed and owner._is_paused is False


def test_a_timeout_is_pynetdicoms_own_wait() -> None:
    checkpoint = Checkpoint(Association(paused=True))
    assert checkpoint.wait(0.01) is False
