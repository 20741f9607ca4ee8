"""Storage Commitment Push Model: a pynetdicom modality stores, asks, and hears back.

The modality is the Storage Commitment SCU: it sends C-STORE and N-ACTION to the
door, and runs its own small SCP that accepts the SCU role for the Push Model SOP
Class on the door's new association and takes the N-EVENT-REPORT (PS3.4 J.3).
"""

from __future__ import annotations

import dataclasses
import queue
import random
import socket
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pydicom import Dataset, dcmread
from pydicom.uid import generate_uid
from pynetdicom import AE, evt
from sqlalchemy import select

from lysbord.config import DicomPeer
from lysbord.dicom.commitment import STORAGE_COMMITMENT, WELL_KNOWN_INSTANCE, release
from lysbord.dicom.server import DicomDoor
from lysbord.services.archive.commitment import FIRST_RETRY, due_at, retry_delay
from lysbord.services.core.context import Context
from lysbord.store.archive_models import CommitmentRequest
from tests.conftest import Clock
from tests.dicomdata import CT, MG, ct_series
from tests.interop.conftest import plain_too

MR = "1.2.840.10008.5.1.4.1.1.4"
# pynetdicom 3.0.4 leaks the socket of a refused connection (transport.py: shutdown() on
# an unconnected socket raises before close()), so its ResourceWarning is expected while
# the requester is down; nothing else may warn.
REFUSED_SOCKET_LEAK = pytest.mark.filterwarnings("ignore:unclosed <socket.socket:ResourceWarning")
WAIT = 45.0  # seconds a report may take to arrive (door processes start slowly under load)


def ae_title(prefix: str) -> str:
    return f"{prefix}{random.randrange(16**6):06X}"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Modality:
    """A requester: stores and asks over one association, hears reports on its own port."""

    def __init__(self) -> None:
        self.title = ae_title("MOD")
        self.port = free_port()
        self.reports: queue.Queue[tuple[int, Dataset, str]] = queue.Queue()
        self.roles: queue.Queue[tuple[bool, bool]] = queue.Queue()
        self.scp = AE(ae_title=self.title)
        self.scp.add_supported_context(STORAGE_COMMITMENT, scu_role=False, scp_role=True)

    def peer(self, **flags: Any) -> DicomPeer:
        return DicomPeer(ae_title=self.title, host="127.0.0.1", port=self.port, **flags)

    def listen(self) -> None:
        handlers = [(evt.EVT_N_EVENT_REPORT, self._on_report)]
        self.scp.start_server(("127.0.0.1", self.port), block=False, evt_handlers=handlers)

    def _on_report(self, event: Any) -> tuple[int, None]:
        """Take the report; note whether the door made us the SCU (role selection worked)."""
        cx = next(
            c for c in event.assoc.accepted_contexts if c.abstract_syntax == STORAGE_COMMITMENT
        )
        self.roles.put((bool(cx.as_scu), bool(cx.as_scp)))
        info = event.event_information
        self.reports.put((event.event_type, info, str(event.assoc.requestor.ae_title)))
        return 0x0000, None

    def store_and_ask(
        self,
        door: DicomDoor,
        files: list[Path],
        refs: list[tuple[str, str]],
        transaction_uid: str,
        action_type: int = 1,
    ) -> int:
        """C-STORE ``files``, then N-ACTION for ``refs``; the N-ACTION status."""
        ae = AE(ae_title=self.title)
        ae.add_requested_context(CT)
        ae.add_requested_context(STORAGE_COMMITMENT)
        assoc = ae.associate("127.0.0.1", door.port, ae_title="LYSBORD")
        assert assoc.is_established
        try:
            for path in files:
                assert assoc.send_c_store(dcmread(path)).Status == 0x0000
            status, _ = assoc.send_n_action(
                action(transaction_uid, refs), action_type, STORAGE_COMMITMENT, WELL_KNOWN_INSTANCE
            )
        finally:
            release(assoc)
        return int(status.Status)

    def next_report(self, timeout: float = WAIT) -> tuple[int, Dataset, str]:
        return self.reports.get(timeout=timeout)

    def stop(self) -> None:
        drain(self.scp)
        self.scp.shutdown()


def action(transaction_uid: str, refs: list[tuple[str, str]]) -> Dataset:
    ds = Dataset()
    ds.TransactionUID = transaction_uid
    ds.ReferencedSOPSequence = [item(sop_class, sop_uid) for sop_class, sop_uid in refs]
    return ds


def item(sop_class: str, sop_uid: str) -> Dataset:
    ds = Dataset()
    ds.ReferencedSOPClassUID = sop_class
    ds.ReferencedSOPInstanceUID = sop_uid
    return ds


def uids(seq: Any) -> set[str]:
    return {str(i.ReferencedSOPInstanceUID) for i in seq}


def drain(ae: AE) -> None:
    """Wait for the AE's associations to end before shutting it down.

    pynetdicom's ``ae.shutdown()`` aborts live associations, and one that is only
    waiting for the peer to close the connection (state Sta13) then raises
    InvalidEventError in its DUL thread.
    """
    deadline = time.monotonic() + 5
    while ae.active_associations and time.monotonic() < deadline:
        time.sleep(0.02)


@pytest.fixture
def modality() -> Iterator[Modality]:
    mod = Modality()
    yield mod
    mod.stop()


@dataclasses.dataclass
class Row:
    attempts: int
    reported_at: datetime | None
    last_error: str | None


def request_row(ctx: Context, transaction_uid: str) -> Row:
    with ctx.uow(readonly=True) as uow:
        row = uow.session.scalars(
            select(CommitmentRequest).where(CommitmentRequest.transaction_uid == transaction_uid)
        ).one()
        return Row(row.attempts, row.reported_at, row.last_error)


def wait_for(check: Callable[[], bool], timeout: float = WAIT) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_report_lists_committed_and_failed_instances(
    ctx: Context, make_door: Callable[..., DicomDoor], modality: Modality, tmp_path: Path
) -> None:
    door = make_door(dicom_peers=[modality.peer()])
    modality.listen()
    files = ct_series(tmp_path, 3, patient_id=ae_title("P"))
    stored = [(CT, str(dcmread(f, stop_before_pixels=True).SOPInstanceUID)) for f in files]
    never, wrong_class = (CT, generate_uid()), (MR, stored[2][1])
    transaction_uid = generate_uid()
    refs = [*stored[:2], never, wrong_class]
    assert modality.store_and_ask(door, files, refs, transaction_uid) == 0x0000

    event_type, info, sender = modality.next_report()
    assert (event_type, sender) == (2, "LYSBORD")
    assert modality.roles.get_nowait() == (True, False)  # the modality is SCU, the door SCP
    assert info.TransactionUID == transaction_uid
    assert uids(info.ReferencedSOPSequence) == {stored[0][1], stored[1][1]}
    failed = {str(i.ReferencedSOPInstanceUID): int(i.FailureReason) for i in info.FailedSOPSequence}
    assert failed == {never[1]: 0x0112, wrong_class[1]: 0x0119}
    wait_for(lambda: request_row(ctx, transaction_uid).reported_at is not None)
    assert request_row(ctx, transaction_uid).attempts == 1


@plain_too
def test_all_stored_gives_event_type_1_and_no_failed_sequence(
    make_door: Callable[..., DicomDoor], modality: Modality, tmp_path: Path
) -> None:
    door = make_door(dicom_peers=[modality.peer()])
    modality.listen()
    files = ct_series(tmp_path, 2, patient_id=ae_title("P"))
    refs = [(CT, str(dcmread(f, stop_before_pixels=True).SOPInstanceUID)) for f in files]
    assert modality.store_and_ask(door, files, refs, generate_uid()) == 0x0000
    event_type, info, _ = modality.next_report()
    assert event_type == 1
    assert uids(info.ReferencedSOPSequence) == {uid for _, uid in refs}
    assert "FailedSOPSequence" not in info


@REFUSED_SOCKET_LEAK
def test_report_is_retried_until_the_requester_listens(
    ctx: Context,
    clock: Clock,
    make_door: Callable[..., DicomDoor],
    modality: Modality,
    tmp_path: Path,
) -> None:
    door = make_door(dicom_peers=[modality.peer()])
    files = ct_series(tmp_path, 1, patient_id=ae_title("P"))
    refs = [(CT, str(dcmread(files[0], stop_before_pixels=True).SOPInstanceUID))]
    transaction_uid = generate_uid()
    assert modality.store_and_ask(door, files, refs, transaction_uid) == 0x0000

    wait_for(lambda: request_row(ctx, transaction_uid).attempts == 1)
    row = request_row(ctx, transaction_uid)
    assert row.reported_at is None
    assert row.last_error and modality.title in row.last_error
    assert modality.reports.empty()

    modality.listen()
    clock.advance(seconds=FIRST_RETRY.total_seconds())
    event_type, info, _ = modality.next_report()
    assert (event_type, info.TransactionUID) == (1, transaction_uid)
    wait_for(lambda: request_row(ctx, transaction_uid).reported_at is not None)
    assert request_row(ctx, transaction_uid).attempts == 2


@REFUSED_SOCKET_LEAK
def test_pending_request_is_reported_after_a_restart_and_only_once(
    ctx: Context,
    clock: Clock,
    make_door: Callable[..., DicomDoor],
    modality: Modality,
    tmp_path: Path,
) -> None:
    first = make_door(dicom_peers=[modality.peer()])
    files = ct_series(tmp_path, 1, patient_id=ae_title("P"))
    refs = [(CT, str(dcmread(files[0], stop_before_pixels=True).SOPInstanceUID))]
    transaction_uid = generate_uid()
    assert modality.store_and_ask(first, files, refs, transaction_uid) == 0x0000
    wait_for(lambda: request_row(ctx, transaction_uid).attempts == 1)
    first.stop()

    make_door(dicom_peers=[modality.peer()])  # two door processes on one database
    make_door(dicom_peers=[modality.peer()])
    modality.listen()
    clock.advance(seconds=FIRST_RETRY.total_seconds())
    assert modality.next_report()[1].TransactionUID == transaction_uid
    with pytest.raises(queue.Empty):
        modality.next_report(timeout=3)  # both workers polled meanwhile; neither sent it again


def test_peer_without_commitment_is_refused(
    ctx: Context, make_door: Callable[..., DicomDoor], modality: Modality, tmp_path: Path
) -> None:
    door = make_door(dicom_peers=[modality.peer(commitment=False)])
    transaction_uid = generate_uid()
    assert modality.store_and_ask(door, [], [(CT, generate_uid())], transaction_uid) == 0x0124
    with ctx.uow(readonly=True) as uow:
        assert uow.session.scalars(select(CommitmentRequest)).all() == []


@pytest.mark.parametrize(
    ("refs", "action_type", "status"),
    [
        ([(MG, "1.2.3")], 2, 0x0123),  # no such action
        ([], 1, 0x0115),  # empty Referenced SOP Sequence
    ],
)
def test_malformed_request_is_refused(
    make_door: Callable[..., DicomDoor],
    modality: Modality,
    refs: list[tuple[str, str]],
    action_type: int,
    status: int,
) -> None:
    door = make_door(dicom_peers=[modality.peer()])
    got = modality.store_and_ask(door, [], refs, generate_uid(), action_type=action_type)
    assert got == status


def test_backoff_doubles_from_five_seconds_to_ten_minutes(clock: Clock) -> None:
    assert [retry_delay(k).total_seconds() for k in range(9)] == [
        5,
        10,
        20,
        40,
        80,
        160,
        320,
        600,
        600,
    ]
    start = clock()
    assert due_at(start, 0) == start
    assert due_at(start, 3) == start + timedelta(seconds=35)
    assert due_at(start, 10) - due_at(start, 9) == timedelta(minutes=10)
