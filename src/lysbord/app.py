"""The HTTP application: the REST API, DICOMweb, the viewer and the web pages on one app.

Each door mounts itself on the FastAPI app (none imports another); this is the one
place that knows them all. Built around a service context: nothing connects at import.
"""

from __future__ import annotations

from fastapi import FastAPI

from lysbord import __version__
from lysbord.api import routes as api
from lysbord.dicomweb import errors as dicomweb_errors
from lysbord.dicomweb import routes as dicomweb
from lysbord.dicomweb import viewer
from lysbord.hl7.inbound import steps_for_replay
from lysbord.http import guard
from lysbord.services.core.context import Context
from lysbord.web.app import mount_web


def create_app(ctx: Context) -> FastAPI:
    # No /docs or /redoc: FastAPI's pages load unpinned scripts from a CDN into a page
    # of an app that holds patient data. The schema stays at /openapi.json.
    app = FastAPI(
        title="Lysbord",
        version=__version__,
        description=api.DESCRIPTION,
        docs_url=None,
        redoc_url=None,
    )
    app.state.ctx = ctx
    guard.install(app, max_bytes=ctx.settings.web.max_body_kib * 1024)
    app.state.hl7_reader = steps_for_replay  # the API's replay of an inbound message
    api.install(app)
    dicomweb_errors.install(app)
    app.include_router(viewer.router)
    dicomweb.install(app, require_sign_in=ctx.settings.dicomweb.require_sign_in)
    mount_web(app)
    return app
