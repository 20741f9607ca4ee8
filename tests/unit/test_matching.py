"""C-FIND matching (PS3.4 C.2.2.2): the pure translations, then the SQL on both backends."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from pydicom.uid import generate_uid
from sqlalchemy import select

from lysbord.services.archive.matching import (
    DicomQueryError,
    attributes,
    clauses,
    glob_pattern,
    is_universal,
    like_pattern,
    parse_range,
    upper_bound,
)
from lysbord.services.core.context import Context
from lysbord.store.archive_models import Instance, Series, Study
from tests.conftest import T0
from tests.helpers import random_cpr

# --- pure -------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["", "*", "**", "  "])
def test_universal_values(value: str) -> None:
    assert is_universal(value.strip())


@pytest.mark.parametrize("value", ["a*", "?", "*ren*"])
def test_wildcards_are_not_universal(value: str) -> None:
    assert not is_universal(value)


def test_like_pattern_escapes_sql_wildcards_and_the_escape_character() -> None:
    assert like_pattern("*ren*") == "%ren%"
    assert like_pattern("A?C") == "A_C"
    assert like_pattern("100%_!*") == "100!%!_!!%"


def test_glob_pattern_escapes_the_bracket_only() -> None:
    assert glob_pattern("a[1]*?") == "a[[]1]*?"


@pytest.mark.parametrize(
    ("vr", "value", "expected"),
    [
        ("DA", "20260101-20260131", ("20260101", "20260131")),
        ("DA", "20260101-", ("20260101", "")),
        ("DA", "-20260131", ("", "20260131")),
        ("DA", "20260115", ("20260115", "20260115")),
        ("TM", "0800-1200", ("0800", "1200")),
        ("TM", "08:00-12:00", ("0800", "1200")),
        ("TM", "081500.25-", ("081500.25", "")),
        ("DT", "20260101-20260131120000", ("20260101", "20260131120000")),
    ],
)
def test_parse_range(vr: str, value: str, expected: tuple[str, str]) -> None:
    assert parse_range("Key", vr, value) == expected


@pytest.mark.parametrize(
    ("vr", "value"),
    [("DA", "2026-01-31"), ("DA", "-"), ("DA", "2026013x"), ("TM", "8-12"), ("DT", "2026+0100")],
)
def test_parse_range_refuses_malformed_values_naming_the_key(vr: str, value: str) -> None:
    with pytest.raises(DicomQueryError) as caught:
        parse_range("StudyDate", vr, value)
    assert "StudyDate" in caught.value.message and repr(value) in caught.value.message


@pytest.mark.parametrize(
    ("vr", "value", "expected"),
    [
        ("TM", "12", "125959.999999"),
        ("TM", "1200", "120059.999999"),
        ("TM", "120000.5", "120000.599999"),
        ("DA", "202602", "20260231"),
        ("DA", "20260131", "20260131"),
        ("DT", "2026", "20261231235959.999999"),
    ],
)
def test_upper_bound_covers_the_whole_partial_period(vr: str, value: str, expected: str) -> None:
    assert upper_bound(vr, value) == expected


def test_levels_include_the_levels_above_and_refuse_unknown_ones() -> None:
    assert "PatientName" in attributes("SERIES") and "Modality" not in attributes("STUDY")
    with pytest.raises(DicomQueryError, match="QueryRetrieveLevel"):
        attributes("FOO")


def test_universal_keys_give_no_clause() -> None:
    assert clauses("IMAGE", {"PatientName": "", "StudyDate": "*", "SOPInstanceUID": ""}) == []


# --- SQL on SQLite and PostgreSQL ---------------------------------------------------


@dataclass
class Archive:
    ctx: Context
    uids: dict[str, str]  # label -> StudyInstanceUID


STUDIES = {
    # label: (patient name, study date, study time, accession, modalities)
    "soerensen": ("Sørensen^Åse", "20260115", "081500", "LB100%", ("CT", "SR")),
    "jensen": ("Jensen^Karen", "20260131", "123000.5", "LB_200", ("MG",)),
    "hansen": ("HANSEN^Ole", "20251231", "1600", "lb300", ("CT",)),
    "nodate": ("Nielsen^Bo", "", "", "", ("DX",)),
}


@pytest.fixture
def archive(bare_ctx: Context) -> Iterator[Archive]:
    uids = {}
    with bare_ctx.uow() as uow:
        for label, (name, day, clock, accession, modalities) in STUDIES.items():
            uids[label] = generate_uid()
            study = Study(
                study_uid=uids[label],
                patient_key=random_cpr(),
                patient_name=name,
                study_date=day,
                study_time=clock,
                accession=accession,
                received_at=T0,
            )
            uow.session.add(study)
            uow.session.flush()
            for n, modality in enumerate(modalities):
                series = Series(
                    series_uid=generate_uid(),
                    study_id=study.id,
                    modality=modality,
                    series_number=str(n + 1),
                )
                uow.session.add(series)
                uow.session.flush()
                uow.session.add(
                    Instance(
                        sop_instance_uid=generate_uid(),
                        series_id=series.id,
                        sop_class_uid="1.2.3",
                        instance_number="1",
                        transfer_syntax="1.2.840.10008.1.2.1",
                        blob_key="x",
                        size=1,
                        received_at=T0,
                    )
                )
        uow.commit()
    yield Archive(bare_ctx, uids)


def found(archive: Archive, **keys: str) -> set[str]:
    labels = {uid: label for label, uid in archive.uids.items()}
    stmt = select(Study.study_uid).where(*clauses("STUDY", keys))
    with archive.ctx.uow(readonly=True) as uow:
        return {labels[uid] for uid in uow.session.scalars(stmt)}


def test_single_value_matching(archive: Archive) -> None:
    assert found(archive, AccessionNumber="lb300") == {"hansen"}
    assert found(archive, StudyDate="20260131") == {"jensen"}


def test_wildcards_are_case_sensitive_and_sql_wildcards_are_literal(archive: Archive) -> None:
    assert found(archive, AccessionNumber="LB*") == {"soerensen", "jensen"}
    assert found(archive, AccessionNumber="LB?00*") == {"soerensen"}  # '%' is a character
    assert found(archive, AccessionNumber="LB_*") == {"jensen"}  # so is '_'
    assert found(archive, AccessionNumber="LB1%") == set()


def test_person_names_match_case_insensitively(archive: Archive) -> None:
    assert found(archive, PatientName="*ren*") == {"soerensen", "jensen"}
    assert found(archive, PatientName="hansen*") == {"hansen"}
    assert found(archive, PatientName="jensen^karen") == {"jensen"}
    assert found(archive, PatientName="Sørensen^Åse") == {"soerensen"}
    assert found(archive, PatientName="*sen^Å*") == {"soerensen"}


def test_date_ranges_leave_out_studies_without_a_date(archive: Archive) -> None:
    assert found(archive, StudyDate="20260101-20260131") == {"soerensen", "jensen"}
    assert found(archive, StudyDate="20260116-") == {"jensen"}
    assert found(archive, StudyDate="-20260115") == {"soerensen", "hansen"}


def test_time_ranges_with_partial_bounds(archive: Archive) -> None:
    assert found(archive, StudyTime="0800-1230") == {"soerensen", "jensen"}
    assert found(archive, StudyTime="-1229") == {"soerensen"}
    assert found(archive, StudyTime="-12") == {"soerensen", "jensen"}
    assert found(archive, StudyTime="1231-") == {"hansen"}


def test_uid_lists(archive: Archive) -> None:
    uids = archive.uids
    assert found(archive, StudyInstanceUID=f"{uids['jensen']}\\{uids['hansen']}") == {
        "jensen",
        "hansen",
    }
    assert found(archive, StudyInstanceUID=uids["nodate"]) == {"nodate"}


def test_modalities_in_study(archive: Archive) -> None:
    assert found(archive, ModalitiesInStudy="CT") == {"soerensen", "hansen"}
    assert found(archive, ModalitiesInStudy="MG\\DX") == {"jensen", "nodate"}
    assert found(archive, ModalitiesInStudy="SR", StudyDate="2026-") == {"soerensen"}


def test_a_cached_statement_shape_never_reuses_an_old_pattern(archive: Archive) -> None:
    """The wildcard construct is cached by shape: the bound pattern must still change."""
    assert found(archive, AccessionNumber="LB1*") == {"soerensen"}
    assert found(archive, AccessionNumber="LB2*") == set()
    assert found(archive, AccessionNumber="LB_2*") == {"jensen"}
