"""The hand-written DIMSE encoding says byte for byte what pynetdicom 3.0.4 would say.

``lysbord.dicom.fast.dimse`` replaces pynetdicom's command-set encoding for the messages
we send, and ``lysbord.dicom.encoding`` writes C-FIND answers without pydicom. Both
are checked here against the libraries' own encoders; the door's DCMTK tests then
run with them on.
"""

from __future__ import annotations

from io import BytesIO
from typing import Any

import pytest
from pydicom import Dataset
from pydicom.filereader import read_dataset
from pynetdicom.dimse import _RQ_TO_MESSAGE, _RSP_TO_MESSAGE
from pynetdicom.dimse_primitives import C_ECHO, C_FIND, C_MOVE, C_STORE, N_CREATE, N_EVENT_REPORT
from pynetdicom.dsutils import encode

from lysbord.dicom.encoding import Prebuilt, text
from lysbord.dicom.fast import dimse, switch

CT = "1.2.840.10008.5.1.4.1.1.2"
MWL = "1.2.840.10008.5.1.4.31"
UID = "2.25.1234567890123456789012345678901234567"


def pynetdicom_pdvs(primitive: Any, max_pdu: int) -> list[tuple[int, bytes]]:
    """What pynetdicom's own DIMSE encoder sends for ``primitive``: all PDVs, in order."""
    table = _RQ_TO_MESSAGE if primitive.MessageIDBeingRespondedTo is None else _RSP_TO_MESSAGE
    message = table[type(primitive)]()
    message.primitive_to_message(primitive)
    return [pdv for p in message.encode_msg(1, max_pdu) for pdv in p.presentation_data_value_list]


def ours(primitive: Any, max_pdu: int) -> list[tuple[int, bytes]]:
    found = dimse.pdus(primitive, 1, max_pdu)
    assert found is not None
    return [pdv for p in found for pdv in p.presentation_data_value_list]


def store_rsp(status: int = 0x0000, comment: str | None = None) -> C_STORE:
    rsp = C_STORE()
    rsp.MessageIDBeingRespondedTo = 7
    rsp.AffectedSOPClassUID = CT
    rsp.AffectedSOPInstanceUID = UID
    rsp.Status = status
    if comment is not None:
        rsp.ErrorComment = comment
    return rsp


def find_rsp(identifier: bytes | None) -> C_FIND:
    rsp = C_FIND()
    rsp.MessageID = 3
    rsp.MessageIDBeingRespondedTo = 3
    rsp.AffectedSOPClassUID = MWL
    rsp.Status = 0xFF00 if identifier else 0x0000
    rsp.Identifier = BytesIO(identifier) if identifier else None
    return rsp


def store_rq(data: bytes) -> C_STORE:
    rq = C_STORE()
    rq.MessageID = 12
    rq.AffectedSOPClassUID = CT
    rq.AffectedSOPInstanceUID = UID
    rq.Priority = 2
    rq.MoveOriginatorApplicationEntityTitle = "SCANNER1"
    rq.MoveOriginatorMessageID = 4
    rq.DataSet = BytesIO(data)
    return rq


def move_rsp() -> C_MOVE:
    rsp = C_MOVE()
    rsp.MessageIDBeingRespondedTo = 9
    rsp.AffectedSOPClassUID = "1.2.840.10008.5.1.4.1.2.2.2"
    rsp.Status = 0xFF00
    rsp.NumberOfRemainingSuboperations = 3
    rsp.NumberOfCompletedSuboperations = 2
    rsp.NumberOfFailedSuboperations = 0
    rsp.NumberOfWarningSuboperations = 0
    return rsp


def echo_rsp() -> C_ECHO:
    rsp = C_ECHO()
    rsp.MessageIDBeingRespondedTo = 1
    rsp.AffectedSOPClassUID = "1.2.840.10008.1.1"
    rsp.Status = 0
    return rsp


def event_report() -> N_EVENT_REPORT:
    rq = N_EVENT_REPORT()
    rq.MessageID = 5
    rq.AffectedSOPClassUID = "1.2.840.10008.1.20.1"
    rq.AffectedSOPInstanceUID = "1.2.840.10008.1.20.1.1"
    rq.EventTypeID = 1
    rq.EventInformation = BytesIO(b"\x08\x00\x18\x00\x04\x00\x00\x001.2\x00")
    return rq


def create_rsp() -> N_CREATE:
    rsp = N_CREATE()
    rsp.MessageIDBeingRespondedTo = 2
    rsp.AffectedSOPClassUID = "1.2.840.10008.3.1.2.3.3"
    rsp.AffectedSOPInstanceUID = UID
    rsp.Status = 0x0110
    rsp.ErrorComment = "no scheduled step 1234"  # odd and even lengths both occur
    return rsp


PRIMITIVES = {
    "C-STORE-RSP success": lambda: store_rsp(),
    "C-STORE-RSP failure": lambda: store_rsp(0xA900, "missing StudyInstanceUID"),
    "C-STORE-RSP odd comment": lambda: store_rsp(0xC000, "odd"),
    "C-FIND-RSP pending": lambda: find_rsp(b"\x10\x00\x10\x00\x04\x00\x00\x00Doe "),
    "C-FIND-RSP final": lambda: find_rsp(None),
    "C-STORE-RQ": lambda: store_rq(bytes(range(256)) * 40),
    "C-MOVE-RSP": move_rsp,
    "C-ECHO-RSP": echo_rsp,
    "N-EVENT-REPORT-RQ": event_report,
    "N-CREATE-RSP": create_rsp,
}


@pytest.mark.parametrize("max_pdu", [0, 16384, 1000])
@pytest.mark.parametrize("name", sorted(PRIMITIVES))
def test_same_bytes_as_pynetdicom(name: str, max_pdu: int) -> None:
    primitive = PRIMITIVES[name]()
    theirs = pynetdicom_pdvs(primitive, max_pdu)
    mine = ours(primitive, max_pdu)
    assert [pdv[1][0] for pdv in mine] == [pdv[1][0] for pdv in theirs]  # control headers
    assert b"".join(pdv[1][1:] for pdv in mine) == b"".join(pdv[1][1:] for pdv in theirs)


def test_pdus_respect_the_peers_maximum_and_pack_small_messages() -> None:
    small = dimse.pdus(find_rsp(b"\x10\x00\x10\x00\x04\x00\x00\x00Doe "), 1, 16384)
    assert small is not None and len(small) == 1  # command and identifier in one PDU
    assert len(small[0].presentation_data_value_list) == 2
    big = dimse.pdus(store_rq(b"\x00" * 5000), 1, 1000)
    assert big is not None and len(big) > 5
    for pdata in big:
        assert sum(5 + len(v) for _, v in pdata.presentation_data_value_list) <= 1000


@pytest.mark.parametrize(
    "primitive",
    [
        store_rsp(0xC000, "Ugyldig værdi"),  # not ASCII: pynetdicom decides how
        store_rsp(0xA900, None),
    ],
)
def test_unusual_messages_are_left_to_pynetdicom(primitive: C_STORE) -> None:
    if primitive.ErrorComment is None:
        primitive.OffendingElement = [0x0020000D]  # AT, multi-valued
    assert dimse.pdus(primitive, 1, 0) is None


def test_the_fast_path_is_installed_on_the_pinned_version() -> None:
    assert switch.install()
    assert dimse.wrap_send_msg.__name__ == "wrap_send_msg"
    from pynetdicom import dimse as pynetdicom_dimse
    from pynetdicom import service_class

    assert pynetdicom_dimse.DIMSEServiceProvider.send_msg.__qualname__.startswith("wrap_send_msg")
    assert service_class.encode.__qualname__.startswith("wrap_encode")  # type: ignore[attr-defined]


def sample() -> Prebuilt:
    ds = Prebuilt()
    ds.add_text(0x00100010, "PN", "Sørensen^Åse")
    ds.add_text(0x00080050, "SH", "ACC1")
    ds.add_text(0x0020000D, "UI", "1.2.3")  # odd: NUL padding
    ds.add_text(0x00100030, "DA", None)
    step = Prebuilt()
    step.add_text(0x00400001, "AE", "CT1")
    step.add_text(0x00080060, "CS", "CT")
    code = Prebuilt()
    code.add_text(0x00080100, "SH", "UXCA00")
    step.add(0x00400008, "SQ", [code])
    ds.add(0x00400100, "SQ", [step])
    ds.add(0x00081110, "SQ", [])
    ds.add_text(0x00080005, "CS", "ISO_IR 192")
    return ds


def pydicom_sample() -> Dataset:
    ds = Dataset()
    ds.SpecificCharacterSet = "ISO_IR 192"
    ds.PatientName = "Sørensen^Åse"
    ds.AccessionNumber = "ACC1"
    ds.StudyInstanceUID = "1.2.3"
    ds.PatientBirthDate = None
    step = Dataset()
    step.ScheduledStationAETitle = "CT1"
    step.Modality = "CT"
    code = Dataset()
    code.CodeValue = "UXCA00"
    step.ScheduledProtocolCodeSequence = [code]
    ds.ScheduledProcedureStepSequence = [step]
    ds.ReferencedStudySequence = []
    return ds


@pytest.mark.parametrize("implicit", [True, False])
def test_prebuilt_reads_back_as_pydicom_writes_it(implicit: bool) -> None:
    mine = read_dataset(BytesIO(sample().encode(implicit=implicit)), implicit, True)
    theirs = read_dataset(BytesIO(encode(pydicom_sample(), implicit, True)), implicit, True)
    assert mine == theirs
    assert str(mine.PatientName) == "Sørensen^Åse"
    assert mine.ScheduledProcedureStepSequence[0].ScheduledProtocolCodeSequence[0].CodeValue == (
        "UXCA00"
    )


def roundtrip(ds: Dataset, implicit: bool, little: bool) -> Dataset:
    return read_dataset(BytesIO(encode(ds, implicit, little)), implicit, little)


def test_prebuilt_becomes_a_dataset_for_other_transfer_syntaxes() -> None:
    assert roundtrip(sample().to_dataset(), False, True) == roundtrip(pydicom_sample(), False, True)
    assert 0x00100010 in sample() and 0x00100020 not in sample()
    assert text("abc", "UI") == b"abc\x00" and text("abc") == b"abc "
    big_endian = dimse.wrap_encode(encode)(sample(), False, False)
    assert read_dataset(BytesIO(big_endian), False, False) == roundtrip(
        pydicom_sample(), False, False
    )
