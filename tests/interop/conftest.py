"""DICOM door fixtures: a real server on a free loopback port, DCMTK tools as clients."""

from __future__ import annotations

import dataclasses
import os
import shutil
import subprocess
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from lysbord.dicom.server import DicomDoor
from lysbord.services.core.context import Context

DCMTK_ENV = {**os.environ, "TCP_NODELAY": "1"}  # Debian's DCMTK leaves Nagle on (DOMAIN.md §8)

# The door's core tests run once more with plain pynetdicom: the fast paths' answers
# must be pynetdicom's own (``dicom_fast_paths``). Decorate a test with it.
plain_too = pytest.mark.parametrize("fast_paths", [True, False], ids=["fast", "plain"])


@pytest.fixture
def fast_paths() -> bool:
    """Whether the doors of a test run with the fast paths (``plain_too`` says both)."""
    return True


@pytest.fixture
def door(ctx: Context, fast_paths: bool) -> Iterator[DicomDoor]:
    """The DICOM door of ``ctx`` (a small region, SQLite or PostgreSQL) on a free port."""
    update = {"dicom_port": 0, "dicom_allow_any_peer": True, "dicom_fast_paths": fast_paths}
    settings = ctx.settings.model_copy(update=update)
    server = DicomDoor(dataclasses.replace(ctx, settings=settings))
    server.start()
    yield server
    server.stop()


def dcmtk(tool: str, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run a DCMTK command-line tool; the Makefile installs the Debian package."""
    if shutil.which(tool) is None:
        raise RuntimeError(f"{tool} not found: run 'make test' (it installs dcmtk)")
    return subprocess.run(
        [tool, *args], capture_output=True, text=True, timeout=timeout, env=DCMTK_ENV, check=False
    )


MakeDoor = Callable[..., DicomDoor]


@pytest.fixture
def make_door(ctx: Context, fast_paths: bool) -> Iterator[MakeDoor]:
    """Start doors over ``ctx`` with changed settings (peers, allow-any) on free ports."""
    doors: list[DicomDoor] = []

    def make(**update: Any) -> DicomDoor:
        fixed = {"dicom_port": 0, "dicom_fast_paths": fast_paths}
        settings = ctx.settings.model_copy(update={**fixed, **update})
        server = DicomDoor(dataclasses.replace(ctx, settings=settings))
        server.start()
        doors.append(server)
        return server

    yield make
    for server in doors:
        server.stop()  # waits for associations in progress and its workers to end first
