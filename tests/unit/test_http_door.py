"""HTTP processes on one listening socket: parallel clients spread evenly.

``lysbord serve`` hands its HTTP socket to every HTTP process; here two servers, each
on a thread and event loop of its own, stand in for two processes. Four clients that
connect at once must get two servers each (uvicorn alone let the first to wake take
three), and a closed connection must stop counting at once.
"""

from __future__ import annotations

import multiprocessing
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import uvicorn

from lysbord.http.acceptor import HttpServer
from lysbord.sharing import Shared


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "http":
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})


@pytest.fixture
def servers() -> Iterator[tuple[list[HttpServer], int]]:
    listener = socket.create_server(("127.0.0.1", 0), backlog=64)
    loads = multiprocessing.get_context("spawn").Array("i", 2)
    started = []
    for slot in range(2):
        config = uvicorn.Config(app, lifespan="off", log_level="warning")
        started.append(HttpServer(config, Shared(listener, loads, slot)))
    threads = [threading.Thread(target=s.run, daemon=True) for s in started]
    for t in threads:
        t.start()
    wait_for(lambda: all(s.started for s in started))
    yield started, listener.getsockname()[1]
    for s in started:
        s.should_exit = True
    for t in threads:
        t.join(10)
    listener.close()


def wait_for(check: Any, timeout: float = 5) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.01)


def connect(port: int) -> socket.socket:
    """A client with one answered request, keeping its connection open."""
    client = socket.create_connection(("127.0.0.1", port))
    client.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    assert client.recv(1024).startswith(b"HTTP/1.1 200")
    return client


def served(servers: list[HttpServer]) -> list[int]:
    return sorted(len(s.server_state.connections) for s in servers)


def test_four_clients_get_two_processes_each(servers: tuple[list[HttpServer], int]) -> None:
    started, port = servers
    clients = [socket.create_connection(("127.0.0.1", port)) for _ in range(4)]
    try:
        wait_for(lambda: sum(served(started)) == 4)
        assert served(started) == [2, 2]
    finally:
        for c in clients:
            c.close()


def test_closed_connections_no_longer_count(servers: tuple[list[HttpServer], int]) -> None:
    started, port = servers
    earlier = [connect(port) for _ in range(3)]
    assert served(started) == [1, 2]
    for c in earlier:
        c.close()
    wait_for(lambda: served(started) == [0, 0])
    fresh = [connect(port) for _ in range(2)]
    try:
        assert served(started) == [1, 1]
    finally:
        for c in fresh:
            c.close()
