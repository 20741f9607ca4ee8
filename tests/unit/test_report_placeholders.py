"""A report template's placeholders (domain.reporting): known names pass, unknown or open
ones are refused naming them, filling replaces case fields and marks free fields."""

from __future__ import annotations

import pytest

from lysbord.domain.errors import InvalidValue
from lysbord.domain.reporting.placeholders import FREE_MARK, check, fill, names


def test_names_are_found_once_in_order() -> None:
    assert names("{{procedure}} {{ indication }} {{procedure}}") == ["procedure", "indication"]


@pytest.mark.parametrize(
    ("text", "value"),
    [("Svar: {{diagnose}}", "diagnose"), ("{{ Patient Name }}", "Patient Name"), ("{{}}", "")],
)
def test_an_unknown_placeholder_is_refused_by_name(text: str, value: str) -> None:
    with pytest.raises(InvalidValue) as refused:
        check(text)
    assert refused.value.field == "text" and refused.value.value == value


@pytest.mark.parametrize("text", ["{{findings", "findings}}", " ", "{{findings}} }}"])
def test_an_open_brace_or_no_text_is_refused(text: str) -> None:
    with pytest.raises(InvalidValue) as refused:
        check(text)
    assert refused.value.field == "text"


def test_filling_replaces_case_fields_and_marks_free_ones() -> None:
    text = check("  {{procedure}} ({{age}} år): {{findings}}\n")
    assert (
        fill(text, {"procedure": "CT af thorax", "age": "71"})
        == f"CT af thorax (71 år): {FREE_MARK}"
    )
