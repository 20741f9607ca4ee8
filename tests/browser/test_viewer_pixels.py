"""The radiologist's "Vis billeder" opens OHIF on the case, and the viewport shows the image.

A CT thorax is booked and examined through the services and its study stored with real
pixel data (``ct_study``: a phantom slice with body, lungs and a vertebra, not zeros).
Signed in as a radiologist, the test opens the case from the reading list, follows its
"Vis billeder" link into the viewer's tab, waits until the largest canvas draws, and
reads the screenshot's pixels back: each of the phantom's tissues must take its share of
the viewport in its own grey, so a blank, black or one-grey viewport fails.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from PIL import Image
from playwright.sync_api import Page

from lysbord.config.dicomweb import CHECKOUT_VIEWER
from lysbord.domain.access import Role
from lysbord.services.core.context import Context
from lysbord.services.pathway import booking, procedures
from lysbord.services.pathway.booking import SlotSearch
from lysbord.services.pathway.procedures import Action
from tests.dicomweb.test_viewer_browser import (
    ARTIFACTS,
    TIMEOUT_S,
    ct_study,
    no_tour,
    wait_for_image,
)
from tests.helpers import new_patient, new_referral

#: The phantom's tissues in the viewport's grey levels (CT window 40/400): air and lungs
#: black, soft tissue mid-grey, the vertebra white; and the least share of the viewport
#: each takes when the slice is drawn (about 38 %, 45 % and 2 % of the canvas).
GREYS = {"air": (0, 31), "soft tissue": (96, 191), "bone": (224, 255)}
LEAST = {"air": 0.2, "soft tissue": 0.25, "bone": 0.005}

pytestmark = pytest.mark.skipif(
    not (CHECKOUT_VIEWER / "index.html").is_file(),
    reason=f"the OHIF viewer is not installed in {CHECKOUT_VIEWER}: run make viewer",
)


@pytest.fixture
def accession(ctx: Context) -> str:
    """A CT thorax examined at Alfa, its phantom study stored under the worklist's UID."""
    cpr = new_patient(ctx, family_name="Bohr", given_name="Niels")
    procedure = new_referral(ctx, cpr).procedures[0]
    offer = booking.find_slots(ctx, SlotSearch(procedure.accession, sites=["AAA"], limit=1))[0]
    booking.book(ctx, procedure.accession, offer.slot_id, "clerk")
    for action in (Action.ARRIVE, Action.START, Action.COMPLETE):
        procedures.apply(ctx, procedure.accession, action, "radiograf")
    ct_study(ctx, cpr, slices=6, study_uid=procedure.study_uid)
    return procedure.accession


def test_view_images_shows_the_ct_slice(
    page: Page, sign_in: Callable[..., None], accession: str
) -> None:
    sign_in(page, Role.radiologist, "/reading")
    page.get_by_role("link", name=f"Beskriv {accession}").click()
    with page.expect_popup() as opened:
        page.get_by_role("link", name="Vis billeder").click()
    viewer = opened.value
    assert wait_for_image(viewer) is not None, f"the viewer drew no image within {TIMEOUT_S} s"
    no_tour(viewer)
    shown = wait_for_image(viewer)
    assert shown is not None
    ARTIFACTS.mkdir(exist_ok=True)
    Image.fromarray(shown).save(ARTIFACTS / "viewer-reading.png")
    shares = {
        tissue: float(((shown >= lo) & (shown <= hi)).mean()) for tissue, (lo, hi) in GREYS.items()
    }
    assert all(shares[t] >= least for t, least in LEAST.items()), shares
