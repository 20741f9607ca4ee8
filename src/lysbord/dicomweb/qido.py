"""QIDO-RS (PS3.18 10.6): search for studies, series and instances in DICOM JSON.

Each search is one C-FIND in SQL: the same matching (``lysbord.dicom.matching``) and
the same catalog query as the DICOM door, so a query means the same through both.
No match is 204 No Content; a key that cannot be matched (a malformed date range) 400.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from pydicom.datadict import tag_for_keyword

from lysbord.dicomweb.dicomjson import row_json
from lysbord.dicomweb.errors import bad_request, not_acceptable, warning_header
from lysbord.dicomweb.media import accepts, parse_accept
from lysbord.dicomweb.resources import path_keys, service_url
from lysbord.dicomweb.search import Search, read_search
from lysbord.http.context import ContextDep
from lysbord.services.archive import catalog
from lysbord.services.archive.catalog import COMPUTED
from lysbord.services.archive.matching import DicomQueryError, attributes, clauses
from lysbord.services.core.context import Context

router = APIRouter(tags=["dicomweb"])
JSON_TYPES = ("application/dicom+json", "application/json")
UIDS = ("StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID")
LEVEL_UIDS = {"STUDY": UIDS[:1], "SERIES": UIDS[:2], "IMAGE": UIDS}


@router.get("/studies")
def search_studies(request: Request, ctx: ContextDep) -> Response:
    """QIDO-RS: search for studies."""
    return _search(request, ctx, "STUDY", above=())


@router.get("/series")
def search_all_series(request: Request, ctx: ContextDep) -> Response:
    """QIDO-RS: search for series in every study."""
    return _search(request, ctx, "SERIES", above=("STUDY",))


@router.get("/studies/{study}/series")
def search_series(request: Request, ctx: ContextDep, study: str) -> Response:
    """QIDO-RS: search for the series of one study."""
    return _search(request, ctx, "SERIES", above=(), study=study)


@router.get("/instances")
def search_all_instances(request: Request, ctx: ContextDep) -> Response:
    """QIDO-RS: search for instances in every study."""
    return _search(request, ctx, "IMAGE", above=("STUDY", "SERIES"))


@router.get("/studies/{study}/instances")
def search_study_instances(request: Request, ctx: ContextDep, study: str) -> Response:
    """QIDO-RS: search for the instances of one study."""
    return _search(request, ctx, "IMAGE", above=("SERIES",), study=study)


@router.get("/series/{series}/instances")
def search_series_instances_any_study(request: Request, ctx: ContextDep, series: str) -> Response:
    """QIDO-RS: search for the instances of one series, whatever its study."""
    return _search(request, ctx, "IMAGE", above=("STUDY",), series=series)


@router.get("/studies/{study}/series/{series}/instances")
def search_instances(request: Request, ctx: ContextDep, study: str, series: str) -> Response:
    """QIDO-RS: search for the instances of one series."""
    return _search(request, ctx, "IMAGE", above=(), study=study, series=series)


def _search(
    request: Request, ctx: Context, level: str, above: Iterable[str], **uids: str
) -> Response:
    accept = request.headers.get("accept")
    if accepts(parse_accept(accept), *JSON_TYPES) is None:
        raise not_acceptable(accept or "", " or ".join(JSON_TYPES))
    search = read_search(level, request.query_params.multi_items(), above)
    search.keys.update(path_keys(**uids)[1])  # the path's UIDs win over the query's
    rows = run(ctx, search)
    headers = warning_header(search.warnings)
    if not rows:
        return Response(status_code=204, headers=headers)
    base = service_url(request)
    answers = [answer(search, row, base) for row in rows]
    return JSONResponse(answers, media_type=JSON_TYPES[0], headers=headers)


def run(ctx: Context, search: Search) -> list[dict[str, Any]]:
    """The matching rows, paged in SQL; each carries the UIDs its RetrieveURL needs."""
    known = attributes(search.level)
    wanted = {*search.fields, *LEVEL_UIDS[search.level]}
    columns = {k: attr.column for k, attr in known.items() if k in wanted}
    try:
        where = clauses(search.level, search.keys)
    except DicomQueryError as exc:
        raise bad_request(exc.reason, field=exc.field or "query", value=_text(exc.value)) from exc
    computed = wanted & COMPUTED[search.level]
    return catalog.find(ctx, search.level, where, columns, computed,
                        limit=search.limit, offset=search.offset)  # fmt: skip


def _text(value: object) -> str | None:
    return None if value is None else str(value)


def answer(search: Search, row: Mapping[str, Any], base: str) -> dict[str, Any]:
    """One row as DICOM JSON: the requested fields, empty when not indexed."""
    values: dict[int, Any] = {}
    for key in search.fields:
        tag = tag_for_keyword(key)
        if tag is not None:
            values[tag] = _value(key, row, base, search.level)
    texts = [v for v in values.values() if isinstance(v, str)]
    if not all(t.isascii() for t in texts):
        values[0x00080005] = "ISO_IR 192"
    return row_json(values)


def _value(key: str, row: Mapping[str, Any], base: str, level: str) -> Any:
    if key == "ModalitiesInStudy" and key in row:
        return sorted({m for m in (row[key] or "").split(",") if m})
    if key == "RetrieveURL":
        return retrieve_url(base, row, level)
    if key == "InstanceAvailability":
        return "ONLINE"
    value = row.get(key)
    return None if value is None else value


def retrieve_url(base: str, row: Mapping[str, Any], level: str) -> str:
    """``{base}/studies/{s}[/series/{se}[/instances/{i}]]`` for the row's level."""
    url = base
    for uid, part in zip(LEVEL_UIDS[level], ("studies", "series", "instances"), strict=False):
        url += f"/{part}/{row[uid]}"
    return url
