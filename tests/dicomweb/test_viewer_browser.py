"""The OHIF viewer in headless Chromium, showing a stored CT study and its prior.

A real uvicorn on a free port serves the app; Playwright drives Debian's chromium
(software WebGL: ``--enable-unsafe-swiftshader``). The test opens
``/viewer/viewer?StudyInstanceUIDs=<study>,<prior>`` (as a procedure's ``viewer_url``
does) and waits until the image canvas shows more
than a blank field; the screenshot is kept as ``test-artifacts/viewer-ct-<backend>.png``,
and every DICOMweb request the viewer made, with its status, beside it
(``viewer-ct-<backend>-requests.txt``); any that failed is named in the assertion.
"""

from __future__ import annotations

import io
import time
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image
from playwright.sync_api import Browser, Page
from playwright.sync_api import Error as PlaywrightError

from lysbord.app import create_app
from lysbord.services.archive.priors import viewer_url
from lysbord.services.core.context import Context
from tests.dicomweb.helpers import without_sign_in
from tests.dicomweb.test_render import ct
from tests.dicomweb.test_render_api import put
from tests.dicomweb.test_viewer import installed
from tests.live import live_server

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
TIMEOUT_S = 120


def ct_study(
    ctx: Context,
    patient: str | None = None,
    date: str = "20261123",
    slices: int = 12,
    study_uid: str | None = None,
) -> tuple[str, str]:
    """A small CT series with real geometry (OHIF sorts and stacks by it): study UID, patient.

    ``study_uid``: the one a procedure's worklist entry gave, which links the study to it."""
    first = ct(size=128)
    first.StudyInstanceUID = study_uid or first.StudyInstanceUID
    for n in range(slices):
        ds = ct(size=128)
        ds.StudyInstanceUID, ds.SeriesInstanceUID = first.StudyInstanceUID, first.SeriesInstanceUID
        ds.StudyDate = date
        ds.SeriesNumber, ds.InstanceNumber = 1, n + 1
        ds.PixelSpacing, ds.SliceThickness = [0.7, 0.7], 2.5
        ds.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
        ds.ImagePositionPatient = [-45, -45, -2.5 * n]
        ds.SeriesDescription, ds.StudyDescription = "Thorax", "CT af thorax"
        ds.PixelData = phantom(128, n).tobytes()
        put(ctx, ds, patient)
        patient = patient or str(ds.PatientID)
    return str(first.StudyInstanceUID), str(patient)


def phantom(size: int, n: int) -> np.ndarray[Any, Any]:
    """A thorax-like slice in stored values (HU + 1024): body, two lungs, a vertebra."""
    y, x = np.mgrid[0:size, 0:size] / size
    hu = np.full((size, size), -1000)
    hu[((x - 0.5) / 0.44) ** 2 + ((y - 0.5) / 0.34) ** 2 < 1] = 40
    lung = 0.17 - 0.004 * n
    for cx in (0.34, 0.66):
        hu[((x - cx) / 0.11) ** 2 + ((y - 0.46) / lung) ** 2 < 1] = -800
    hu[(x - 0.5) ** 2 + (y - 0.72) ** 2 < 0.055**2] = 700
    return (hu + 1024).astype(np.int16)


def test_ohif_shows_a_stored_ct_study_with_its_prior(ctx: Context, browser: Browser) -> None:
    installed()
    study, patient = ct_study(ctx)
    prior, _ = ct_study(ctx, patient, "20250110", slices=4)
    backend = ctx.db.engine.dialect.name
    with live_server(create_app(without_sign_in(ctx))) as base:
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        try:
            calls: list[str] = []
            page.on("response", lambda r: _record(calls, r))
            page.goto(f"{base}{viewer_url(study, prior)}")
            shown = wait_for_image(page)
            no_tour(page)
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / f"viewer-ct-{backend}.png"))
            (ARTIFACTS / f"viewer-ct-{backend}-requests.txt").write_text("\n".join(calls) + "\n")
        finally:
            page.close()
    failed = [c for c in calls if not c.startswith(("200", "204", "304"))]
    assert shown is not None, f"no image within {TIMEOUT_S} s; DICOMweb calls: {calls}"
    assert not failed, f"DICOMweb calls that failed: {failed}"
    for uid in (study, prior):
        assert any(f"/studies/{uid}/series/" in c and "/metadata" in c for c in calls), calls
    assert any("/frames/" in c for c in calls), calls
    assert shown.std() > 10, "the canvas is blank"


def _record(calls: list[str], response: Any) -> None:
    if "/dicomweb/" in response.url:
        calls.append(f"{response.status} {response.request.method} {response.url}")


def no_tour(page: Page) -> None:
    """OHIF's first-visit tour (English, over the viewport) is configured away."""
    assert page.get_by_text("Skip all").count() == 0, "OHIF's tour is showing"


def wait_for_image(page: Page) -> np.ndarray[Any, Any] | None:
    """The largest canvas's pixels once it shows an image (not one flat colour), or None.

    OHIF replaces its canvases while it lays out the study: a canvas that goes away
    between finding and grabbing it is simply looked for again.
    """
    deadline = time.monotonic() + TIMEOUT_S
    canvases = page.locator("canvas")
    while time.monotonic() < deadline:
        areas = canvases.evaluate_all("cs => cs.map(c => c.clientWidth * c.clientHeight)")
        if areas and max(areas) > 200 * 200:
            try:
                shot = canvases.nth(areas.index(max(areas))).screenshot(timeout=5000)
            except PlaywrightError:
                continue
            pixels = np.asarray(Image.open(io.BytesIO(shot)).convert("L"))
            if pixels.std() > 10:
                return pixels
        page.wait_for_timeout(500)
    return None
