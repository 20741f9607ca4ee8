"""A PDU's claimed length is not trusted: the buffer grows only as bytes arrive (issue 20).

One connection used to make a worker allocate the 4 GiB a header claimed
(``01 00 FF FF FF F0`` and a kilobyte). Real socket pairs here, no door needed.
"""

from __future__ import annotations

import os
import socket
import threading
import tracemalloc

from lysbord.dicom.fast.reading import FIRST, receive

CLAIMED = 0xFFFFFFF0


def _send_and_close(peer: socket.socket, data: bytes) -> threading.Thread:
    def run() -> None:
        peer.sendall(data)
        peer.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def test_a_lying_length_costs_only_the_bytes_that_came() -> None:
    ours, peer = socket.socketpair()
    with ours:
        thread = _send_and_close(peer, b"x" * 1024)
        tracemalloc.start()
        try:
            got = receive(ours, CLAIMED, b"\x01\x00\xff\xff\xff\xf0")
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        thread.join()
    assert bytes(got) == b"\x01\x00\xff\xff\xff\xf0" + b"x" * 1024
    assert peak < 4 * FIRST, f"{peak:,} bytes allocated for a 1 KiB PDU"


def test_a_pdu_larger_than_the_first_buffer_arrives_whole() -> None:
    ours, peer = socket.socketpair()
    data = os.urandom(3 * FIRST + 17)
    with ours:
        thread = _send_and_close(peer, data)
        got = receive(ours, len(data))
        thread.join()
    assert bytes(got) == data


def test_a_pdu_cut_off_comes_back_short() -> None:
    ours, peer = socket.socketpair()
    with ours:
        thread = _send_and_close(peer, b"y" * 10)
        got = receive(ours, 100, b"h")
        thread.join()
    assert bytes(got) == b"h" + b"y" * 10
