"""The OHIF Viewer at /viewer/, reading Lysbord's own DICOMweb (DOMAIN.md §9).

``make viewer`` installs the prebuilt app, rewritten for /viewer/, into the folder
``settings.dicomweb.viewer_dir``. Served here: ``app-config.js`` is ours (the data
source is /dicomweb on the same origin, so no CORS); files as they are, with their
media types (``.wasm`` as application/wasm, which browsers insist on for streaming
compilation), gzipped when the install wrote a ``.gz`` beside them and the client
takes gzip, cached for a year when their names carry a content hash; a missing file
with an extension is 404; every other path is the single-page app's ``index.html``
(its router reads ``/viewer/viewer?StudyInstanceUIDs=...``). Without an installed
viewer every path answers 503 with a page that says to run ``make viewer``.
"""

from __future__ import annotations

import re
from pathlib import Path

from fastapi import APIRouter, Request, Response
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse

from lysbord.http.context import ContextDep

router = APIRouter(prefix="/viewer", include_in_schema=False)

BASE = "/viewer"
HASHED = re.compile(r"[.-][0-9a-f]{16}\.")
TYPES = {
    ".js": "text/javascript",
    ".mjs": "text/javascript",
    ".css": "text/css",
    ".html": "text/html; charset=utf-8",
    ".json": "application/json",
    ".wasm": "application/wasm",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
    ".woff2": "font/woff2",
    ".woff": "font/woff",
    ".ttf": "font/ttf",
    ".xml": "application/xml",
    ".map": "application/json",
    ".txt": "text/plain; charset=utf-8",
}
NOT_INSTALLED = """<!doctype html><html lang="en"><meta charset="utf-8">
<title>Viewer not installed</title>
<body style="font-family: sans-serif; max-width: 40em; margin: 4em auto">
<h1>The image viewer is not installed</h1>
<p>Lysbord serves the OHIF Viewer from <code>{folder}</code>, which holds no viewer.
Run <code>make viewer</code> in the Lysbord checkout (it fetches <code>@ohif/app</code>
with npm and prepares it for <code>/viewer/</code>), then reload this page.</p>
<p>The images themselves stay available over DICOMweb at <code>/dicomweb</code>.</p>
</body></html>
"""

#: OHIF's configuration: Lysbord's DICOMweb on the same origin; what OHIF needs of it
#: was measured here (DOMAIN.md §9).
APP_CONFIG = """window.config = {
  routerBasename: '%(base)s',
  extensions: [],
  modes: [],
  customizationService: { 'ohif.tours': { $set: [] } },  // no first-visit tour
  showStudyList: true,
  maxNumberOfWebWorkers: 3,
  showWarningMessageForCrossOrigin: false,
  showCPUFallbackMessage: true,
  showLoadingIndicator: true,
  strictZSpacingForVolumeViewport: true,
  investigationalUseDialog: { option: 'never' },
  defaultDataSourceName: 'lysbord',
  dataSources: [
    {
      namespace: '@ohif/extension-default.dataSourcesModule.dicomweb',
      sourceName: 'lysbord',
      configuration: {
        friendlyName: 'Lysbord',
        name: 'lysbord',
        wadoUriRoot: window.location.origin + '%(dicomweb)s',
        qidoRoot: window.location.origin + '%(dicomweb)s',
        wadoRoot: window.location.origin + '%(dicomweb)s',
        qidoSupportsIncludeField: true,
        imageRendering: 'wadors',
        thumbnailRendering: 'wadors',
        enableStudyLazyLoad: true,
        supportsFuzzyMatching: false,
        supportsWildcard: true,
        bulkDataURI: { enabled: true, relativeResolution: 'studies' },
        omitQuotationForMultipartRequest: true,
      },
    },
  ],
};
"""


@router.get("")
def viewer_root() -> RedirectResponse:
    return RedirectResponse(f"{BASE}/")


@router.get("/app-config.js")
def app_config(ctx: ContextDep) -> Response:
    folder = ctx.settings.dicomweb.viewer_dir
    if not (folder / "index.html").is_file():
        return _not_installed(folder)
    body = APP_CONFIG % {"base": BASE, "dicomweb": "/dicomweb"}
    return Response(body, media_type=TYPES[".js"], headers={"Cache-Control": "no-cache"})


@router.get("/{path:path}")
def viewer_file(path: str, request: Request, ctx: ContextDep) -> Response:
    folder = ctx.settings.dicomweb.viewer_dir
    index = folder / "index.html"
    if not index.is_file():
        return _not_installed(folder)
    file = _inside(folder, path)
    if file is not None and file.is_file():
        return _file(file, request)
    if Path(path).suffix:
        return Response(f"Not found: {BASE}/{path}", status_code=404, media_type=TYPES[".txt"])
    return _file(index, request)


def _inside(folder: Path, path: str) -> Path | None:
    """The file ``path`` names, or None if it would leave the viewer's folder."""
    root = folder.resolve()
    file = (root / path).resolve()
    return file if file.is_relative_to(root) and file != root else None


def _file(file: Path, request: Request) -> FileResponse:
    """The file, gzipped if the install prepared that and the client takes it."""
    headers = {"Vary": "Accept-Encoding"}
    headers["Cache-Control"] = (
        "public, max-age=31536000, immutable" if HASHED.search(file.name) else "no-cache"
    )
    media_type = TYPES.get(file.suffix, "application/octet-stream")
    packed = file.with_name(file.name + ".gz")
    if "gzip" in request.headers.get("accept-encoding", "") and packed.is_file():
        headers["Content-Encoding"] = "gzip"
        return FileResponse(packed, media_type=media_type, headers=headers)
    return FileResponse(file, media_type=media_type, headers=headers)


def _not_installed(folder: Path) -> HTMLResponse:
    return HTMLResponse(NOT_INSTALLED.format(folder=folder), status_code=503)
