"""Nothing lost, nothing applied twice: copies at once, and a restart between receive and ACK."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from lysbord.hl7.door import Hl7Door
from lysbord.hl7.mllp import wrap
from lysbord.services.core.context import Context
from lysbord.services.messaging import inbox_queries
from lysbord.services.pathway import referral_queries
from tests.helpers import new_patient
from tests.hl7_in.conftest import MakeDoor, MllpClient, sample, segment

LISTENING = re.compile(rb"HL7 MLLP on [0-9.]+:(\d+)")


def _order(ctx: Context) -> tuple[str, bytes]:
    cpr = new_patient(ctx)
    raw = sample("orm_o01_nw.hl7", cpr=cpr, id=uuid.uuid4().hex, placer=uuid.uuid4().hex[:10])
    return cpr, raw


def _count(ctx: Context, cpr: str) -> int:
    return referral_queries.list_referrals(ctx, referral_queries.ReferralFilter(cpr=cpr))[1]


def test_eight_copies_at_once_are_applied_once(ctx: Context, hl7_door: Hl7Door) -> None:
    cpr, raw = _order(ctx)
    clients = [MllpClient(hl7_door.port) for _ in range(8)]
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda c: c.call(raw), clients))
    for c in clients:
        c.close()
    assert segment(answers[0], "MSA")[1] == "AA"
    assert len(set(answers)) == 1
    assert _count(ctx, cpr) == 1
    assert inbox_queries.list_messages(ctx, inbox_queries.InboxFilter(cpr=cpr))[1] == 1


def test_door_stopped_before_the_sender_read_its_ack(ctx: Context, make_hl7_door: MakeDoor) -> None:
    cpr, raw = _order(ctx)
    door = make_hl7_door()
    client = MllpClient(door.port)
    client.send_raw(wrap(raw))
    door.stop()  # the message in progress finishes; its ACK goes to a sender that left
    client.close()
    again = MllpClient(make_hl7_door().port)
    answer = again.call(raw)
    again.close()
    assert segment(answer, "MSA")[1] == "AA"
    assert _count(ctx, cpr) == 1


def test_server_killed_between_receive_and_ack(ctx: Context, tmp_path: Path) -> None:
    """A real ``lysbord serve`` gets SIGKILL right after the message is sent, before the
    sender reads an answer; whether or not the kill beat the commit, the sender's re-send
    to the restarted server is applied exactly once and answered AA."""
    cpr, raw = _order(ctx)
    server = _serve(ctx, tmp_path)
    try:
        client = MllpClient(_port(server))
        client.send_raw(wrap(raw))
        time.sleep(0.05)
        server.send_signal(signal.SIGKILL)
        server.wait(30)
        client.close()
        server = _serve(ctx, tmp_path)
        client = MllpClient(_port(server))
        answer = client.call(raw)
        client.close()
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(60)
    assert segment(answer, "MSA")[1] == "AA"
    assert _count(ctx, cpr) == 1


def _serve(ctx: Context, tmp_path: Path) -> subprocess.Popen[bytes]:
    """``lysbord serve`` on ``ctx``'s database, every door on a free port; logs to a file."""
    env = {
        **os.environ,
        "LYSBORD_DICOM_WORKERS": "1",
        "LYSBORD_DICOM_PORT": "0",
        "LYSBORD_HTTP_PORT": "0",
        "LYSBORD_HL7_PORT": "0",
    }
    log = tmp_path / f"serve-{time.monotonic_ns()}.log"
    cmd = [str(Path(sys.executable).parent / "lysbord"), "serve", "--data-dir", str(tmp_path)]
    with log.open("wb") as out:
        server = subprocess.Popen(
            [*cmd, "--database-url", ctx.settings.effective_database_url],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    _LOGS[server.pid] = log
    return server


# Each server's own log: a killed server's workers may still be writing to theirs while
# the next one starts, so the newest log need not be the running server's.
_LOGS: dict[int, Path] = {}


def _port(server: subprocess.Popen[bytes]) -> int:
    log = _LOGS[server.pid]
    deadline = time.monotonic() + 300  # a loaded CI machine starts DICOM workers slowly
    while time.monotonic() < deadline:
        if match := LISTENING.search(log.read_bytes()):
            return int(match.group(1))
        if server.poll() is not None:
            break
        time.sleep(0.1)
    raise AssertionError(f"lysbord serve did not open the HL7 door: {log.read_text()[-2000:]}")
