"""The HTTP door's server: uvicorn, taking connections from ``serve``'s shared socket
only while its process is the least busy (``lysbord.sharing``).

Given the socket itself, uvicorn's loop accepts every waiting connection in the process
that wakes first: four STOW-RS clients connecting at once were served three by one
HTTP process and one by the other, which then finished early and left a core idle.
Here each process accepts one connection at a time and publishes its count of open
connections on each accept and each close.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import Callable
from typing import Any, cast

import uvicorn

from lysbord.sharing import YIELD_FOR, Shared

log = logging.getLogger(__name__)
ProtocolFactory = Callable[[], asyncio.Protocol]


class HttpServer(uvicorn.Server):
    """uvicorn's server with its own acceptor on a shared listening socket."""

    def __init__(self, config: uvicorn.Config, shared: Shared) -> None:
        super().__init__(config)
        self.shared = shared

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=[])  # the app's lifespan; no listener of uvicorn's
        loop = asyncio.get_running_loop()
        counted = _counted(self.config.http_protocol_class, self._publish)

        def create_protocol() -> asyncio.Protocol:
            return cast(asyncio.Protocol, counted(
                config=self.config,
                server_state=self.server_state,
                app_state=self.lifespan.state,
                _loop=loop,
            ))  # fmt: skip

        acceptor = Acceptor(self.shared, create_protocol, self._serving)
        self.servers = [cast(asyncio.base_events.Server, acceptor)]  # uvicorn closes it

    def _serving(self) -> int:
        return len(self.server_state.connections)

    def _publish(self) -> None:
        self.shared.publish(self._serving())


def _counted(protocol: type[Any], on_lost: Callable[[], None]) -> type[Any]:
    """uvicorn's protocol class, telling ``on_lost`` when a connection has closed."""

    class Counted(protocol):  # type: ignore[misc]
        def connection_lost(self, exc: Exception | None) -> None:
            super().connection_lost(exc)
            on_lost()

    return Counted


class Acceptor:
    """Accepts on the shared socket, one connection at a time, unless another process
    serves fewer; stands in for the asyncio server uvicorn closes when it stops."""

    def __init__(self, shared: Shared, factory: ProtocolFactory, serving: Callable[[], int]):
        self.shared, self.factory, self.serving = shared, factory, serving
        shared.listener.setblocking(False)
        self._task = asyncio.get_running_loop().create_task(self._accept_forever())

    async def _accept_forever(self) -> None:
        loop = asyncio.get_running_loop()
        listener = self.shared.listener
        while True:
            await _readable(loop, listener)
            if self.shared.defer(self.serving()):
                await asyncio.sleep(YIELD_FOR)
                continue
            try:
                client, _ = listener.accept()
            except (BlockingIOError, InterruptedError):
                continue  # another process took it
            except OSError:  # e.g. EMFILE: wait rather than spin
                await asyncio.sleep(0.1)
                continue
            try:
                client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                await loop.connect_accepted_socket(self.factory, client)
            except OSError:  # the client left already
                client.close()
            except Exception:  # one bad connection must not stop the door accepting
                log.exception("cannot serve a connection")
                client.close()
            self.shared.publish(self.serving())

    def close(self) -> None:
        self._task.cancel()

    async def wait_closed(self) -> None:
        await asyncio.gather(self._task, return_exceptions=True)


async def _readable(loop: asyncio.AbstractEventLoop, sock: socket.socket) -> None:
    """Wait until a connection waits on the listening socket."""
    ready: asyncio.Future[None] = loop.create_future()
    fd = sock.fileno()

    def wake() -> None:
        if not ready.done():
            ready.set_result(None)

    loop.add_reader(fd, wake)
    try:
        await ready
    finally:
        loop.remove_reader(fd)
