"""A report template's placeholders: which exist, checking a text, filling it for a case.

A placeholder is a name in double braces, ``{{indication}}`` (spaces inside allowed).
*Case fields* are filled from the procedure being reported; *free fields* are where the
radiologist writes (findings, conclusion): they are filled with ``FREE_MARK`` so the
place to write shows. A name that is neither is refused when the template is saved,
never discovered at the bedside.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from lysbord.domain.errors import InvalidValue, Msg

#: Filled from the case: procedure, patient, referral.
CASE_FIELDS = (
    "patient_name",
    "cpr",
    "age",
    "procedure",
    "procedure_code",
    "accession",
    "indication",
    "referring_unit",
    "exam_date",
)
#: Written by the radiologist; shown as ``FREE_MARK`` in a filled text.
FREE_FIELDS = ("findings", "conclusion", "comparison")
FIELDS = CASE_FIELDS + FREE_FIELDS
FREE_MARK = "…"

_PLACEHOLDER = re.compile(r"\{\{\s*([^{}]*?)\s*\}\}")


def names(text: str) -> list[str]:
    """The placeholder names in ``text``, in order, each once."""
    return list(dict.fromkeys(m.group(1) for m in _PLACEHOLDER.finditer(text)))


def check(text: str) -> str:
    """The text, stripped, if every placeholder in it is known and closed; else InvalidValue
    on ``text`` whose value is the first unknown name (None for a brace left open)."""
    body = text.strip()
    if not body:
        raise InvalidValue(Msg("a template needs text"), field="text")
    for name in names(body):
        if name not in FIELDS:
            raise InvalidValue(
                Msg(
                    "unknown placeholder {name}; known: {known}",
                    name=f"{{{{{name}}}}}",
                    known=FIELDS,
                ),
                field="text",
                value=name,
            )
    rest = _PLACEHOLDER.sub("", body)
    if "{{" in rest or "}}" in rest:
        raise InvalidValue(
            Msg("a placeholder is not closed: write {example}", example="{{name}}"), field="text"
        )
    return body


def fill(text: str, values: Mapping[str, str]) -> str:
    """The text with each case field replaced by its value and each free field marked."""

    def one(match: re.Match[str]) -> str:
        name = match.group(1)
        return FREE_MARK if name in FREE_FIELDS else values.get(name, "")

    return _PLACEHOLDER.sub(one, text)
