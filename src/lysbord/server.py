"""Runs the doors of one Lysbord process together and stops them gracefully."""

from __future__ import annotations

import logging

import uvicorn

from lysbord.api.app import create_app
from lysbord.services.context import Context

log = logging.getLogger(__name__)


def serve(ctx: Context) -> None:
    """Serve until interrupted (SIGINT/SIGTERM); uvicorn finishes open requests first."""
    s = ctx.settings
    app = create_app(ctx)
    config = uvicorn.Config(
        app, host=s.http_host, port=s.http_port, log_level="info", access_log=False
    )
    log.info("HTTP on http://%s:%d", s.http_host, s.http_port)
    try:
        uvicorn.Server(config).run()
    finally:
        ctx.db.dispose()
