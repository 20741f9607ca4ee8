"""Serving the OHIF viewer at /viewer/: our configuration, the rewritten app, the fallbacks.

Needs the viewer installed (``make viewer``, which ``make test`` runs first); without
it the tests fail saying so, never skip. The installer's rewrite is checked on what it
produced: every root path of the build now starts with /viewer/.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from lysbord.app import create_app
from lysbord.config.dicomweb import CHECKOUT_VIEWER, DicomWebSettings
from lysbord.services.core.context import Context


def installed() -> Path:
    """The checkout's viewer; a failure that says what to do when it is missing."""
    if not (CHECKOUT_VIEWER / "index.html").is_file():
        pytest.fail(f"the OHIF viewer is not installed in {CHECKOUT_VIEWER}: run make viewer")
    return CHECKOUT_VIEWER


@pytest.fixture(name="web")
def web_fixture(bare_ctx: Context) -> Iterator[TestClient]:
    installed()
    with TestClient(create_app(bare_ctx)) as client:
        yield client


def test_app_config_points_at_our_dicomweb(web: TestClient) -> None:
    response = web.get("/viewer/app-config.js")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/javascript")
    config = response.text
    assert "routerBasename: '/viewer'" in config
    assert config.count("window.location.origin + '/dicomweb'") == 3
    assert "cloudfront" not in config and "https://" not in config


def test_index_is_rewritten_for_viewer_and_is_the_fallback(web: TestClient) -> None:
    index = web.get("/viewer/")
    assert index.status_code == 200 and index.headers["content-type"].startswith("text/html")
    assert 'window.PUBLIC_URL="/viewer/"' in index.text
    roots = re.findall(r'(?:href|src|content)="(/[^"]*)"', index.text)
    assert roots and all(p.startswith("/viewer/") for p in roots), roots
    study = web.get("/viewer/viewer", params={"StudyInstanceUIDs": "1.2.3"})
    assert study.status_code == 200 and study.text == index.text
    assert web.get("/viewer", follow_redirects=False).headers["location"] == "/viewer/"


def test_static_files_types_compression_and_404(web: TestClient) -> None:
    folder = installed()
    bundle = next(folder.glob("app.bundle.*.js")).name
    js = web.get(f"/viewer/{bundle}", headers={"Accept-Encoding": "gzip"})
    assert js.status_code == 200
    assert js.headers["content-encoding"] == "gzip"
    assert js.headers["content-type"].startswith("text/javascript")
    assert "immutable" in js.headers["cache-control"]
    assert '__webpack_require__.p = "/viewer/";' in js.text  # httpx undid the gzip
    plain = web.get(f"/viewer/{bundle}", headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers and plain.text == js.text
    wasm = next(folder.glob("*.wasm")).name
    assert web.get(f"/viewer/{wasm}").headers["content-type"] == "application/wasm"
    assert "url(/viewer/" in web.get("/viewer/app.bundle.css").text
    assert web.get("/viewer/no-such-bundle.js").status_code == 404
    assert web.get("/viewer/..%2F..%2Fpyproject.toml").status_code == 404


def test_without_a_viewer_every_path_says_run_make_viewer(
    bare_ctx: Context, tmp_path: Path
) -> None:
    empty = DicomWebSettings(viewer_dir=tmp_path / "nothing")
    settings = bare_ctx.settings.model_copy(update={"dicomweb": empty})
    with TestClient(create_app(dataclasses.replace(bare_ctx, settings=settings))) as client:
        for path in ("/viewer/", "/viewer/viewer?StudyInstanceUIDs=1.2.3", "/viewer/app-config.js"):
            response = client.get(path)
            assert response.status_code == 503
            assert "make viewer" in response.text
