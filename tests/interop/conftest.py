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


@pytest.fixture
def door(ctx: Context) -> Iterator[DicomDoor]:
    """The DICOM door of ``ctx`` (a small region, SQLite or PostgreSQL) on a free port."""
    settings = ctx.settings.model_copy(update={"dicom_port": 0, "dicom_allow_any_peer": True})
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
def make_door(ctx: Context) -> Iterator[MakeDoor]:
    """Start doors over ``ctx`` with changed settings (peers, allow-any) on free ports."""
    doors: list[DicomDoor] = []

    def make(**update: Any) -> DicomDoor:
        settings = ctx.settings.model_copy(update={"dicom_port": 0, **update})
        server = DicomDoor(dataclasses.replace(ctx, settings=settings))
        server.start()
        doors.append(server)
        return server

    yield make
    for server in doors:
        server.stop()  # waits for associations in progress and its workers to end first
