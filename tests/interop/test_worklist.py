"""Modality Worklist C-FIND through DCMTK's ``findscu -W`` against the running door."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import date, time, timedelta
from pathlib import Path
from typing import Any

import pytest
from pydicom import Dataset, dcmread
from pydicom.uid import ExplicitVRLittleEndian, generate_uid
from pynetdicom import AE
from pynetdicom.sop_class import ModalityWorklistInformationFind  # type: ignore[attr-defined]

from lysbord.dicom.server import DicomDoor
from lysbord.domain.calendar import local_datetime
from lysbord.services.core.context import Context
from lysbord.services.pathway import booking, procedures
from lysbord.services.pathway import worklist as worklist_service
from lysbord.services.pathway.worklist import TooManyMatches, WorklistQuery, find_items
from tests.helpers import new_patient, new_referral
from tests.interop.conftest import dcmtk, plain_too

TODAY = date(2026, 11, 23)  # the fixture clock's Monday
SPS_KEYS = (
    "ScheduledStationAETitle",
    "ScheduledProcedureStepStartDate",
    "ScheduledProcedureStepStartTime",
    "Modality",
    "ScheduledPerformingPhysicianName",
    "ScheduledProcedureStepDescription",
    "ScheduledProcedureStepID",
    "ScheduledProcedureStepStatus",
)
TOP_KEYS = (
    "PatientName",
    "PatientID",
    "IssuerOfPatientID",
    "PatientBirthDate",
    "PatientSex",
    "AccessionNumber",
    "RequestedProcedureID",
    "RequestedProcedureDescription",
    "StudyInstanceUID",
    "ReferringPhysicianName",
)
_queries = itertools.count()


@dataclass(frozen=True)
class Booked:
    cpr: str
    accession: str
    study_uid: str


def book(
    ctx: Context, family: str, given: str, code: str, site: str, day: date, at: time
) -> Booked:
    cpr = new_patient(ctx, family_name=family, given_name=given)
    accession = new_referral(ctx, cpr, codes=(code,)).procedures[0].accession
    search = booking.SlotSearch(
        accession, sites=[site], start_from=local_datetime(day, at), limit=1
    )
    booking.book(ctx, accession, booking.find_slots(ctx, search)[0].slot_id, "tester")
    study_uid = procedures.get_procedure(ctx, accession).procedure.study_uid
    return Booked(cpr, accession, study_uid)


@pytest.fixture
def day(ctx: Context) -> dict[str, Booked]:
    """Bookings in Alfa's CT 1 (today twice, tomorrow once), its MR and Beta's CT."""
    tomorrow = TODAY + timedelta(days=1)
    return {
        "ct0900": book(ctx, "Sørensen", "Åse", "UXCC00", "AAA", TODAY, time(9)),
        "ct1030": book(ctx, "Østergård", "Jens", "UXCC00", "AAA", TODAY, time(10, 30)),
        "mr0900": book(ctx, "Madsen", "Bo", "UXMA00", "AAA", TODAY, time(9)),
        "ct_tomorrow": book(ctx, "Holm", "Ida", "UXCC00", "AAA", tomorrow, time(9)),
        "beta": book(ctx, "Berg", "Eva", "UXCC00", "BBB", TODAY, time(9)),
    }


def query_file(folder: Path, top: dict[str, Any], sps: dict[str, Any] | None) -> Path:
    ds = Dataset()
    ds.SpecificCharacterSet = "ISO_IR 192"
    for key in TOP_KEYS:
        setattr(ds, key, "")
    for key, value in top.items():
        setattr(ds, key, value)
    if sps is not None:
        item = Dataset()
        for key in SPS_KEYS:
            setattr(item, key, "")
        for key, value in sps.items():
            setattr(item, key, value)
        ds.ScheduledProcedureStepSequence = [item]
    ds.file_meta = Dataset()  # type: ignore[assignment]
    ds.file_meta.MediaStorageSOPClassUID = ModalityWorklistInformationFind
    ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    path = folder / "query.dcm"
    ds.save_as(path, enforce_file_format=True)
    return path


def findscu(
    door: DicomDoor,
    tmp_path: Path,
    top: dict[str, Any] | None = None,
    sps: dict[str, Any] | None = None,
    calling: str = "AAACT1",
) -> list[Dataset]:
    """Ask the door with ``findscu -W`` and read back the extracted responses."""
    folder = tmp_path / f"q{next(_queries)}"
    folder.mkdir()
    query = query_file(folder, top or {}, {} if sps is None else sps)
    result = dcmtk(
        "findscu",
        "-W",
        "-aet",
        calling,
        "-aec",
        "LYSBORD",
        "-X",
        "-od",
        str(folder),
        "127.0.0.1",
        str(door.port),
        str(query),
    )
    assert result.returncode == 0, result.stderr
    return [dcmread(p) for p in sorted(folder.glob("rsp*.dcm"))]


def accessions(found: list[Dataset]) -> list[str]:
    return [ds.AccessionNumber for ds in found]


@plain_too
def test_a_ct_room_sees_its_day_with_every_attribute_it_asked_for(
    ctx: Context, door: DicomDoor, day: dict[str, Booked], tmp_path: Path
) -> None:
    found = findscu(
        door,
        tmp_path,
        sps={
            "ScheduledStationAETitle": "AAACT1",
            "Modality": "CT",
            "ScheduledProcedureStepStartDate": "20261123",
        },
    )
    assert accessions(found) == [day["ct0900"].accession, day["ct1030"].accession]
    first = found[0]
    booked = day["ct0900"]
    assert first.SpecificCharacterSet == "ISO_IR 192"
    assert str(first.PatientName) == "Sørensen^Åse"
    assert (first.PatientID, first.IssuerOfPatientID) == (booked.cpr, "CPR")
    assert first.PatientBirthDate[2:] == f"{booked.cpr[4:6]}{booked.cpr[2:4]}{booked.cpr[:2]}"
    assert first.PatientSex == ("M" if int(booked.cpr[9]) % 2 else "F")
    assert (first.RequestedProcedureID, first.StudyInstanceUID) == (
        booked.accession,
        booked.study_uid,
    )
    assert first.RequestedProcedureDescription == "CT af thorax"
    assert str(first.ReferringPhysicianName) == "Lungemedicinsk afd."
    sps = first.ScheduledProcedureStepSequence[0]
    assert (sps.ScheduledStationAETitle, sps.Modality) == ("AAACT1", "CT")
    assert (sps.ScheduledProcedureStepStartDate, sps.ScheduledProcedureStepStartTime) == (
        "20261123",
        "090000",
    )  # Copenhagen wall time, not UTC (080000)
    assert (sps.ScheduledProcedureStepID, sps.ScheduledProcedureStepStatus) == (
        booked.accession,
        "SCHEDULED",
    )
    assert sps.ScheduledPerformingPhysicianName == ""
    assert sps.ScheduledProcedureStepDescription == "CT af thorax"


def test_only_requested_keys_come_back_and_unknown_ones_empty(
    door: DicomDoor, day: dict[str, Booked], tmp_path: Path
) -> None:
    code = Dataset()
    found = findscu(
        door,
        tmp_path,
        top={"PatientWeight": None, "RequestedProcedureCodeSequence": [code]},
        sps={"ScheduledStationAETitle": "AAACT1", "ScheduledProcedureStepStartDate": "20261123"},
    )
    first = found[0]
    assert "RequestedProcedurePriority" not in first
    assert "ScheduledStationName" not in first.ScheduledProcedureStepSequence[0]
    assert "PatientWeight" in first and first.PatientWeight in (None, "")
    item = first.RequestedProcedureCodeSequence[0]
    assert (item.CodeValue, item.CodingSchemeDesignator) == ("UXCC00", "SKS")


@pytest.mark.parametrize(
    ("dates", "expected"),
    [
        ("20261123-20261124", ["ct0900", "ct1030", "ct_tomorrow"]),
        ("20261124-", ["ct_tomorrow"]),
        ("-20261123", ["ct0900", "ct1030"]),
        ("", ["ct0900", "ct1030", "ct_tomorrow"]),
    ],
)
def test_date_ranges_open_and_closed(
    door: DicomDoor, day: dict[str, Booked], tmp_path: Path, dates: str, expected: list[str]
) -> None:
    found = findscu(
        door,
        tmp_path,
        sps={"ScheduledStationAETitle": "AAACT1", "ScheduledProcedureStepStartDate": dates},
    )
    assert accessions(found) == [day[k].accession for k in expected]


def test_time_range_is_copenhagen_time(
    door: DicomDoor, day: dict[str, Booked], tmp_path: Path
) -> None:
    found = findscu(
        door,
        tmp_path,
        sps={
            "ScheduledStationAETitle": "AAACT1",
            "ScheduledProcedureStepStartDate": "20261123",
            "ScheduledProcedureStepStartTime": "1000-1100",
        },
    )
    assert accessions(found) == [day["ct1030"].accession]
    assert (
        findscu(
            door,
            tmp_path,
            sps={
                "ScheduledStationAETitle": "AAACT1",
                "ScheduledProcedureStepStartDate": "20261123",
                "ScheduledProcedureStepStartTime": "0800-0859",
            },
        )
        == []
    )


def test_modality_and_station_select_the_room(
    door: DicomDoor, day: dict[str, Booked], tmp_path: Path
) -> None:
    mr = findscu(
        door, tmp_path, sps={"Modality": "MR", "ScheduledProcedureStepStartDate": "20261123"}
    )
    assert accessions(mr) == [day["mr0900"].accession]
    beta = findscu(
        door,
        tmp_path,
        sps={"ScheduledStationAETitle": "BBB*", "ScheduledProcedureStepStartDate": "20261123"},
    )
    assert accessions(beta) == [day["beta"].accession]


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("sør*", "ct0900"),
        ("ØSTERGÅRD*", "ct1030"),
        ("*^Åse", "ct0900"),
        ("Østergård", "ct1030"),
        ("?stergård^J*", "ct1030"),
    ],
)
def test_patient_name_wildcards_ignore_case_in_danish(
    door: DicomDoor, day: dict[str, Booked], tmp_path: Path, name: str, expected: str
) -> None:
    found = findscu(
        door, tmp_path, top={"PatientName": name}, sps={"ScheduledStationAETitle": "AAACT1"}
    )
    assert accessions(found) == [day[expected].accession]


def test_patient_id_and_accession_match_exactly(
    door: DicomDoor, day: dict[str, Booked], tmp_path: Path
) -> None:
    by_id = findscu(door, tmp_path, top={"PatientID": day["mr0900"].cpr})
    assert accessions(by_id) == [day["mr0900"].accession]
    by_accession = findscu(door, tmp_path, top={"AccessionNumber": day["beta"].accession})
    assert [ds.PatientID for ds in by_accession] == [day["beta"].cpr]
    assert findscu(door, tmp_path, top={"AccessionNumber": day["beta"].accession[:-1]}) == []


def test_started_and_unbooked_procedures_leave_the_worklist(
    ctx: Context, door: DicomDoor, day: dict[str, Booked], tmp_path: Path
) -> None:
    procedures.act(ctx, day["ct0900"].accession, procedures.Action.ARRIVE, "porter")
    arrived = findscu(door, tmp_path, top={"AccessionNumber": day["ct0900"].accession})
    assert arrived[0].ScheduledProcedureStepSequence[0].ScheduledProcedureStepStatus == "ARRIVED"
    procedures.act(ctx, day["ct0900"].accession, procedures.Action.START, "radiographer")
    assert findscu(door, tmp_path, top={"AccessionNumber": day["ct0900"].accession}) == []


def test_a_malformed_date_is_refused_with_a_comment(door: DicomDoor) -> None:
    ds = Dataset()
    ds.PatientName = ""
    item = Dataset()
    item.ScheduledProcedureStepStartDate = "20260230"  # well-formed, but no 30 February
    ds.ScheduledProcedureStepSequence = [item]
    ae = AE(ae_title="AAACT1")
    ae.add_requested_context(ModalityWorklistInformationFind)
    assoc = ae.associate("127.0.0.1", door.port, ae_title="LYSBORD")
    assert assoc.is_established
    try:
        answers = list(assoc.send_c_find(ds, ModalityWorklistInformationFind))
    finally:
        assoc.release()
    status = answers[-1][0]
    assert status.Status == 0xC000
    assert "ScheduledProcedureStepStartDate" in status.ErrorComment


def test_a_query_matching_too_much_is_refused_not_cut_short(
    ctx: Context, day: dict[str, Booked]
) -> None:
    assert len(find_items(ctx, WorklistQuery(limit=5))) == 5
    with pytest.raises(TooManyMatches, match="more than 4"):
        find_items(ctx, WorklistQuery(limit=4))


def test_sqlite_starts_from_the_rooms_slots_not_every_booked_procedure(ctx: Context) -> None:
    """Without statistics SQLite would walk every booked procedure of the region."""
    if ctx.db.engine.dialect.name != "sqlite":
        pytest.skip("PostgreSQL plans the joins from its statistics")
    query = WorklistQuery(ae_title="AAACT1", date_from=TODAY, date_to=TODAY)
    stmt = worklist_service._statement(query, "sqlite")
    with ctx.db.engine.connect() as conn:
        sql = str(stmt.compile(conn, compile_kwargs={"literal_binds": True}))
        plan = " | ".join(row[-1] for row in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}"))
    assert "(room_id=? AND start_at>? AND start_at<?)" in plan, plan
    assert "ix_procedures_state" not in plan, plan
