"""DICOM workers on one listening socket: parallel associations spread evenly.

``lysbord serve`` hands its DICOM socket to every worker process; here two doors in
one process stand in for two workers (each has its own AE, as each process has). Four
modalities that connect at once must get two workers each: one worker with three
and one with one halves the rate of the busy one's senders.
"""

from __future__ import annotations

import dataclasses
import multiprocessing
import socket
import time
from collections.abc import Iterator

import pytest
from pynetdicom import AE
from pynetdicom.association import Association

from lysbord.dicom.server import DicomDoor
from lysbord.services.core.context import Context
from lysbord.sharing import Shared

VERIFICATION = "1.2.840.10008.1.1"


@pytest.fixture
def doors(ctx: Context) -> Iterator[tuple[list[DicomDoor], int]]:
    listener = socket.create_server(("127.0.0.1", 0))
    loads = multiprocessing.get_context("spawn").Array("i", 2)
    settings = ctx.settings.model_copy(update={"dicom_allow_any_peer": True})
    started = [
        DicomDoor(dataclasses.replace(ctx, settings=settings), Shared(listener, loads, slot))
        for slot in range(2)
    ]
    for door in started:
        door.start()
    yield started, listener.getsockname()[1]
    for door in started:
        door.stop()
    assert listener.fileno() == -1, "stopping the doors closes the shared socket"


def associate(port: int) -> Association:
    ae = AE(ae_title="MODALITY")
    ae.add_requested_context(VERIFICATION)
    assoc = ae.associate("127.0.0.1", port, ae_title="LYSBORD")
    assert assoc.is_established
    return assoc


def served(doors: list[DicomDoor]) -> list[int]:
    return sorted(len(d.ae.active_associations) for d in doors)


def test_four_associations_get_two_workers_each(doors: tuple[list[DicomDoor], int]) -> None:
    workers, port = doors
    assocs = [associate(port) for _ in range(4)]
    try:
        assert served(workers) == [2, 2]
        assert all(a.send_c_echo().Status == 0x0000 for a in assocs)
    finally:
        for a in assocs:
            a.release()


def test_released_associations_no_longer_count(doors: tuple[list[DicomDoor], int]) -> None:
    workers, port = doors
    earlier = [associate(port) for _ in range(3)]
    assert served(workers) == [1, 2]
    for a in earlier:
        a.release()
    deadline = time.monotonic() + 5
    while any(d.ae.active_associations for d in workers) and time.monotonic() < deadline:
        time.sleep(0.01)
    fresh = [associate(port) for _ in range(2)]
    try:
        assert served(workers) == [1, 1]
    finally:
        for a in fresh:
            a.release()
