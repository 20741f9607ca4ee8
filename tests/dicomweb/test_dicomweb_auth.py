"""With the default settings DICOMweb is for signed-in users only: images are patient data.

Reads take a bearer token or the browser's session (the viewer's requests carry its
cookie); storing (STOW-RS) takes the radiographer's role. Both backends.
"""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from lysbord.app import create_app
from lysbord.domain.access import Role
from lysbord.services.core.context import Context
from tests.dicomweb.helpers import MULTIPART_DICOM, body, ct, part10
from tests.helpers import random_cpr
from tests.web_fixtures import bearer, signed_in

STUDIES = "/dicomweb/studies"
JSON = {"Accept": "application/dicom+json"}


def stow(client: TestClient, tmp_path: Path, headers: dict[str, str]) -> int:
    data = body(("application/dicom", part10(ct(tmp_path, 1, patient_id=random_cpr())[0])))
    response = client.post(
        STUDIES, content=data, headers={**headers, **JSON, "Content-Type": MULTIPART_DICOM}
    )
    return response.status_code


def test_no_user_no_images(bare_ctx: Context, tmp_path: Path) -> None:
    with TestClient(create_app(bare_ctx)) as client:
        refused = client.get(STUDIES, headers=JSON)
        assert refused.status_code == 401
        assert refused.headers["content-type"] == "application/problem+json"
        assert stow(client, tmp_path, {}) == 401
        assert (
            client.get(STUDIES, headers={**JSON, "Authorization": "Bearer nonsense"}).status_code
            == 401
        )


def test_a_token_reads_and_a_radiographer_stores(bare_ctx: Context, tmp_path: Path) -> None:
    with TestClient(create_app(bare_ctx)) as client:
        clerk = bearer(bare_ctx, Role.booking_clerk)
        assert stow(client, tmp_path / "a", clerk) == 403
        assert client.get(STUDIES, headers={**JSON, **clerk}).status_code == 204
        assert stow(client, tmp_path / "b", bearer(bare_ctx, Role.radiographer)) == 200
        found = client.get(STUDIES, headers={**JSON, **clerk})
        assert found.status_code == 200 and len(found.json()) == 1


def test_the_viewers_session_cookie_reads(bare_ctx: Context) -> None:
    with TestClient(create_app(bare_ctx)) as client:
        signed_in(client, bare_ctx, Role.radiologist)
        assert client.get(STUDIES, headers=JSON).status_code == 204
