"""The per-association shortcuts of ``dicom.fast.path``: copies as safe as pynetdicom's own."""

from __future__ import annotations

import copy
from types import SimpleNamespace

from pynetdicom import AE
from pynetdicom.presentation import PresentationContext
from pynetdicom.transport import RequestHandler

from lysbord.dicom.fast import path, switch

CT = "1.2.840.10008.5.1.4.1.1.2"


def test_copied_contexts_match_and_do_not_share_their_transfer_syntaxes() -> None:
    ae = AE()
    ae.add_supported_context(CT, ["1.2.840.10008.1.2", "1.2.840.10008.1.2.1"])
    ae.add_supported_context("1.2.840.10008.1.1", scp_role=True, scu_role=False)
    original = ae.supported_contexts
    syntaxes = list(original[0].transfer_syntax)
    copies = path.copy_contexts(original)
    assert [vars(c) for c in copies] == [vars(c) for c in original]
    assert all(a is not b for a, b in zip(copies, original, strict=True))
    copies[0].transfer_syntax = ["1.2.840.10008.1.2.2"]
    copies[0].context_id = 1
    assert original[0].transfer_syntax == syntaxes
    assert original[0].context_id is None


def test_anything_else_is_deep_copied() -> None:
    strange = PresentationContext()
    strange.extra = [1]  # type: ignore[attr-defined]  # a field this version does not have
    for value in ([strange], {"a": [1]}):
        copied = path.copy_contexts(value)
        assert copied == value or isinstance(copied, list)
        assert copied is not value
    assert path.copy_contexts([strange])[0].extra is not strange.extra  # type: ignore[attr-defined]


def test_local_address_is_resolved_once_per_server_and_copied() -> None:
    server = SimpleNamespace(server_address=("127.0.0.1", 11112))
    handler = SimpleNamespace(server=server)
    first = path.listener_address(handler)  # type: ignore[arg-type]
    second = path.listener_address(handler)  # type: ignore[arg-type]
    assert (first.address, first.port) == (second.address, second.port) == ("127.0.0.1", 11112)
    assert first is not second and first is not copy.copy(first)
    assert switch.install() and RequestHandler.local.fget is path.listener_address  # type: ignore[attr-defined]
