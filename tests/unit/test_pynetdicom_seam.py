"""The pynetdicom internals that dicom/fast/ relies on are still there, as they were.

Each one in ``lysbord.dicom.fast.internals.INTERNALS`` must exist, a callable must take
the same parameters, and its source must still hold what the fast path relies on. A
pynetdicom upgrade that changes one fails here, naming it and what to re-check, instead
of slowing or breaking the DICOM door without a word.
"""

from __future__ import annotations

import importlib
import inspect
import tomllib
from pathlib import Path
from typing import Any

import pynetdicom
import pytest
from pydicom import config as pydicom_config
from pynetdicom import AE, _config, association, dul, service_class, transport
from pynetdicom.association import Association
from pynetdicom.dul import DULServiceProvider
from pynetdicom.presentation import PresentationContext
from pynetdicom.transport import RequestHandler

from lysbord.dicom.fast import switch
from lysbord.dicom.fast.internals import INTERNALS, PINNED, Internal

PYPROJECT = Path(__file__).parents[2] / "pyproject.toml"


@pytest.fixture(autouse=True)
def pynetdicoms_own() -> None:
    """pynetdicom's code, not the fast paths' (a door earlier in this process may have
    installed them; the next door installs them again)."""
    switch.uninstall()


def test_the_pinned_pynetdicom_is_the_installed_one() -> None:
    dependencies = tomllib.loads(PYPROJECT.read_text())["project"]["dependencies"]
    assert f"pynetdicom=={PINNED}" in dependencies, "pyproject.toml pins another pynetdicom"
    assert pynetdicom.__version__ == PINNED == "3.0.4", (
        f"pynetdicom {pynetdicom.__version__} is installed, dicom/fast/ is written for "
        f"{PINNED}: check each internal in lysbord.dicom.fast.internals, then PINNED"
    )


def _instances() -> dict[str, Any]:
    """Objects that hold the attributes pynetdicom sets in ``__init__``, by class."""
    assoc = Association(AE(), "acceptor")
    return {
        "association.Association": assoc,
        "dul.DULServiceProvider": assoc.dul,
        "dimse.DIMSEServiceProvider": assoc.dimse,
        "fsm.StateMachine": assoc.dul.state_machine,
        "presentation.PresentationContext": PresentationContext(),
        "ae.ApplicationEntity": AE(),
    }


def _find(item: Internal) -> Any:
    """The internal itself; AttributeError or ImportError if it is gone."""
    module, *path, name = item.name.split(".")
    owner: Any = importlib.import_module(f"pynetdicom.{module}")
    if item.instance:
        owner = _instances()[".".join([module, *path])]
    else:
        for part in path:
            owner = getattr(owner, part)
    if not hasattr(owner, name):
        raise AttributeError(name)
    return getattr(owner, name)


@pytest.mark.parametrize("item", INTERNALS, ids=lambda item: item.name)
def test_each_internal_is_as_the_fast_paths_expect(item: Internal) -> None:
    recheck = f"re-check {item.users} in lysbord/dicom/fast/ ({item.why})"
    try:
        found = _find(item)
    except (AttributeError, ImportError) as exc:
        pytest.fail(f"pynetdicom.{item.name} is gone ({exc!r}): {recheck}")
    code = found.fget if isinstance(found, property) else found
    if item.params is not None:
        params = tuple(inspect.signature(code).parameters)
        assert params == item.params, (
            f"pynetdicom.{item.name} now takes {params}, not {item.params}: {recheck}"
        )
    if item.needs:
        assert item.needs in inspect.getsource(code), (
            f"pynetdicom.{item.name} no longer contains {item.needs!r}: {recheck}"
        )


def _patched() -> list[Any]:
    """What the fast paths replace, as pynetdicom's classes and modules hold it now."""
    return [
        vars(DULServiceProvider).get("run"),  # inherited from threading.Thread until patched
        DULServiceProvider._read_pdu_data,
        Association.__init__,
        RequestHandler.local,
        transport.deepcopy,
        dul.time,
        association.time,
        service_class.encode,  # type: ignore[attr-defined]
        _config.LOG_HANDLER_LEVEL,
        pydicom_config.settings.writing_validation_mode,
    ]


def test_uninstall_puts_back_what_install_replaced() -> None:
    before = _patched()
    assert switch.install() and switch.install()  # once only: the second changes nothing
    during = _patched()
    assert all(a is not b and a != b for a, b in zip(before, during, strict=True))
    switch.uninstall()
    assert _patched() == before and "run" not in vars(DULServiceProvider)
    assert switch.turn(True) and not switch.turn(False) and _patched() == before
