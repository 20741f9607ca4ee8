"""The DICOMweb door: QIDO-RS, WADO-RS and STOW-RS under ``/dicomweb`` (PS3.18 10).

``install`` mounts the routers (``create_app`` also installs ``errors``, the problem
details of DicomWebError); the rendered resources and the viewer add their own routers.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, FastAPI

from lysbord.dicomweb import frames, qido, rendered, stow, wado
from lysbord.dicomweb.resources import PREFIX
from lysbord.domain.access import Role
from lysbord.http import problems
from lysbord.http.deps import actor_for, get_user

READERS = (rendered, qido, wado, frames)


def install(app: FastAPI, *, require_sign_in: bool) -> None:
    """Images are patient data: every request names its user unless the settings say not
    to; storing needs the radiographer's role (modalities get such an account)."""
    readers = [Depends(get_user)] if require_sign_in else []
    writers = [Depends(actor_for(Role.radiographer))] if require_sign_in else []
    router = APIRouter(prefix=PREFIX, responses=problems.RESPONSES)
    for module in READERS:
        router.include_router(module.router, dependencies=readers)
    router.include_router(stow.router, dependencies=writers)
    app.include_router(router)
