"""A ``lysbord serve`` that goes, by SIGKILL or SIGTERM, takes its workers with it.

Only the serve process gets the signal (not its process group, as an OOM killer or
a crashed supervisor would do it). Its spawned DICOM and HTTP workers must notice,
stop, and free the ports, or a restarted node could not bind them and the old
workers would go on answering with a stale configuration.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.reliability.test_crash import Server, listening

pytestmark = [pytest.mark.slow]


def children(pid: int) -> set[int]:
    """The live processes whose parent is ``pid``, from /proc."""
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and _parent_and_state(int(entry.name))[0] == pid:
            found.add(int(entry.name))
    return found


def _parent_and_state(pid: int) -> tuple[int, str]:
    """(ppid, state) of ``pid``; (0, "gone") if it no longer exists."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0, "gone"
    fields = stat.rsplit(")", 1)[1].split()  # the command name may hold spaces
    return int(fields[1]), fields[0]


def alive(pid: int) -> bool:
    return _parent_and_state(pid)[1] not in ("gone", "Z", "X")


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    srv = Server(tmp_path / "data", None)  # the workers' life does not depend on the backend
    yield srv
    srv.kill()  # the whole group: whatever survived the test


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux /proc")
@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM], ids=["SIGKILL", "SIGTERM"])
def test_workers_stop_and_free_the_port_when_serve_goes(server: Server, sig: int) -> None:
    """SIGKILL: the workers notice by themselves. SIGTERM: serve stops them on its way out
    (uvicorn raises the signal again once it has stopped: that must not skip the rest)."""
    server.start()
    assert server.proc is not None
    workers = children(server.proc.pid)
    assert len(workers) >= 5, "lysbord serve should run 4 DICOM and 1 more HTTP process"
    os.kill(server.proc.pid, sig)  # the parent only, not its group
    server.proc.wait(60)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        left = {pid for pid in workers if alive(pid)}
        if not left and not listening(server.port) and not listening(server.http_port):
            break
        time.sleep(0.2)
    assert not {pid for pid in workers if alive(pid)}, f"workers outlived serve\n{server.tail()}"
    assert not listening(server.port), "the DICOM port is still open"
    assert not listening(server.http_port), "the HTTP port is still open"
    if sig == signal.SIGTERM:
        assert "the serve process is gone" not in server.tail(), "serve did not stop them"
