"""Reading a PDU without trusting the length its header claims.

A PDU's header says how many bytes follow, up to 4 GiB. Allocating that much before the
bytes come let one unauthenticated connection make a worker reserve 4 GB (issue 20). The
buffer starts at ``FIRST`` bytes, more than a whole PDU of any peer seen (``storescu`` sends
128 KiB), so the store path allocates once as before, and doubles only as bytes arrive.
"""

from __future__ import annotations

import socket

FIRST = 1 << 20


def receive(raw: socket.socket | None, n: int, head: bytes | bytearray = b"") -> bytearray:
    """``head`` and the ``n`` bytes after it; fewer only if the peer closed first."""
    wanted = len(head) + n
    buffer = bytearray(len(head) + min(n, FIRST))
    buffer[: len(head)] = head
    read = len(head)
    while raw is not None and read < wanted:
        if read == len(buffer):
            buffer += bytearray(min(len(buffer), wanted - read))
        got = raw.recv_into(memoryview(buffer)[read:], len(buffer) - read)
        if not got:
            del buffer[read:]
            break
        read += got
    return buffer
