"""DICOMweb against a real server: uvicorn on a free port, dicomweb-client as the client.

``dicomweb_url`` is the service root of a live server over ``bare_ctx`` (both backends);
``dw`` a DICOMwebClient on it, as a viewer or script would use it.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from dicomweb_client.api import DICOMwebClient

from lysbord.app import create_app
from lysbord.services.core.context import Context
from tests.dicomweb.helpers import without_sign_in
from tests.live import live_server


@pytest.fixture
def dicomweb_url(bare_ctx: Context) -> Iterator[str]:
    """Over ``bare_ctx`` (no region: faster); a test that also takes ``ctx`` gets the region."""
    with live_server(create_app(without_sign_in(bare_ctx))) as base:
        yield f"{base}/dicomweb"


@pytest.fixture
def dw(dicomweb_url: str) -> DICOMwebClient:
    return DICOMwebClient(url=dicomweb_url)
