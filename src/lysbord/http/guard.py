"""Writes are checked before a byte of their body is read: the caller first (a REST API
write without a valid token or session is 401), then the size (a body larger than
``web.max_body_kib`` is 413, by its Content-Length or as it arrives).

Before this, FastAPI read and parsed a whole body before any dependency ran: one
unauthenticated 400 MB POST cost a worker 850 MB. STOW-RS (``/dicomweb``) streams its
large bodies to disk under its own limits and is left to its router.
"""

from __future__ import annotations

from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from lysbord.http.context import get_context
from lysbord.http.deps import NotAuthenticated, bearer_of, get_user, not_authenticated
from lysbord.http.problems import problem

READS = frozenset({"GET", "HEAD", "OPTIONS"})
STREAMED = "/dicomweb/"


class BodyTooLarge(HTTPException):
    """The body grew past the limit while it was being read (an HTTPException, so that
    FastAPI's body parsing lets it through instead of answering 400)."""

    def __init__(self) -> None:
        super().__init__(413)


def install(app: FastAPI, max_bytes: int) -> None:
    """Guard every write of ``app``; a body that outgrows the limit midway is 413 too."""
    app.add_middleware(WriteGuard, max_bytes=max_bytes)

    async def on_too_large(request: Request, exc: Exception) -> Response:
        return _too_large(max_bytes)

    app.add_exception_handler(BodyTooLarge, on_too_large)


class WriteGuard:
    """Pure ASGI middleware: nothing of the body is buffered here."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope.get("path", "")
        if scope["type"] != "http" or scope["method"] in READS or path.startswith(STREAMED):
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        if path.startswith("/api/"):
            try:
                ctx = get_context(request)
                await run_in_threadpool(get_user, request, ctx, bearer_of(request))
            except NotAuthenticated as exc:
                await not_authenticated(request, exc)(scope, receive, send)
                return
        length = request.headers.get("content-length", "0")
        if not length.isdigit() or int(length) > self.max_bytes:
            await _too_large(self.max_bytes)(scope, receive, send)
            return
        await self.app(scope, self._counting(receive), send)

    def _counting(self, receive: Receive) -> Receive:
        """``receive``, counting the body as it arrives (chunked bodies have no length)."""
        seen = 0

        async def counting_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise BodyTooLarge()
            return message

        return counting_receive


def _too_large(max_bytes: int) -> Response:
    reason = f"a body of at most {max_bytes // 1024} KiB"
    response = problem(413, "Content too large", reason, field="body", reason=reason)
    response.headers["Connection"] = "close"  # the rest of the body is not read
    return response
