"""Writes are checked before their bodies are read (issue 20: an unauthenticated 400 MB
POST to /api/v1/referrals was read and parsed, +850 MB in the worker, before the token
was checked), and a body larger than its route takes is refused (413) as it arrives."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from urllib.parse import urlsplit

import httpx2 as httpx
import pytest

from lysbord.app import create_app
from lysbord.domain.access import Role
from lysbord.services.core.context import Context
from tests.live import live_server
from tests.web_fixtures import bearer

HUGE = 400_000_000


@pytest.fixture
def base(bare_ctx: Context) -> Iterator[str]:
    with live_server(create_app(bare_ctx)) as url:
        yield url


def _answer_to_headers_alone(base: str, path: str, headers: dict[str, str]) -> tuple[int, dict]:
    """Send a request's headers claiming ``HUGE`` bytes of body and 1 KB of it, then read
    the answer: a server that waits for the body would never answer."""
    where = urlsplit(base)
    lines = [f"POST {path} HTTP/1.1", f"Host: {where.netloc}", f"Content-Length: {HUGE}"]
    lines += ["Content-Type: application/json", *(f"{k}: {v}" for k, v in headers.items())]
    with socket.create_connection((where.hostname, where.port), timeout=10) as sock:
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode() + b"[" * 1024)
        got = b""
        while b"\r\n\r\n" not in got or len(got.split(b"\r\n\r\n", 1)[1]) < 10:
            chunk = sock.recv(65536)
            if not chunk:
                break
            got += chunk
    head, _, body = got.partition(b"\r\n\r\n")
    status = int(head.split()[1])
    return status, json.loads(body[: body.rindex(b"}") + 1])


def test_an_unauthenticated_write_is_refused_before_its_body_is_read(base: str) -> None:
    status, problem = _answer_to_headers_alone(base, "/api/v1/referrals", {})
    assert status == 401 and problem["field"] == "Authorization"


def test_a_bad_token_is_refused_before_the_body_is_read(base: str) -> None:
    forged = {"Authorization": "Bearer lb_not-a-token"}
    status, problem = _answer_to_headers_alone(base, "/api/v1/referrals", forged)
    assert status == 401 and problem["field"] == "Authorization"


def test_a_body_larger_than_the_route_takes_is_413(bare_ctx: Context, base: str) -> None:
    headers = bearer(bare_ctx, Role.booking_clerk)
    status, problem = _answer_to_headers_alone(base, "/api/v1/referrals", headers)
    assert status == 413 and problem["field"] == "body"
    chunked = httpx.post(
        f"{base}/api/v1/referrals",
        content=iter([b"[" * 65536] * 40),  # 2.5 MB without a Content-Length
        headers={**headers, "Content-Type": "application/json"},
        timeout=30,
    )
    assert chunked.status_code == 413 and chunked.json()["field"] == "body"
    small = httpx.post(f"{base}/api/v1/referrals", json={}, headers=headers, timeout=30)
    assert small.status_code == 422  # a small body still reaches the route
