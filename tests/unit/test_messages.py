"""The services' messages and their Danish catalogue agree (docs/internals.md, "Messages").

Every ``Msg("...")`` in src/lysbord is found the way ``make messages`` finds it (Babel's
extractor); each needs a Danish text with the same placeholders, and the catalogue holds
no message the code no longer says.
"""

from __future__ import annotations

import ast
from datetime import UTC, datetime
from pathlib import Path
from string import Formatter

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

import lysbord
from lysbord.domain.errors import Msg
from lysbord.domain.priorities import Priority
from lysbord.domain.workflow import ProcedureState
from lysbord.web import messages

SRC = Path(lysbord.__file__).parent


def _extracted() -> set[str]:
    found = extract_from_dir(str(SRC), method_map=[("**.py", "python")], keywords={"Msg": None})
    return {message for _, _, message, _, _ in found if isinstance(message, str)}


def _catalogue() -> dict[str, tuple[str, bool]]:
    with messages.catalogue_path("da").open("rb") as f:
        catalog = read_po(f)
    return {m.id: (str(m.string or ""), m.fuzzy) for m in catalog if isinstance(m.id, str) and m.id}


def _fields(template: str) -> set[str]:
    return {f"{name}!{conv}" for _, name, _, conv in Formatter().parse(template) if name}


def test_every_msg_is_a_literal_the_extractor_can_read() -> None:
    """``Msg(f"...")`` or ``Msg(name)`` would be invisible to pybabel."""
    bad = []
    for path in SRC.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
                if node.func.id == "Msg" and not (
                    node.args
                    and isinstance(node.args[0], ast.Constant)
                    and isinstance(node.args[0].value, str)
                ):
                    bad.append(f"{path.relative_to(SRC)}:{node.lineno}")
    assert bad == []


def test_every_message_has_a_danish_text_and_none_is_stale() -> None:
    code, po = _extracted(), _catalogue()
    assert len(code) > 150  # the extractor found the services' messages at all
    untranslated = sorted(m for m in code if not po.get(m, ("", False))[0] or po[m][1])
    stale = sorted(set(po) - code)
    assert untranslated == [], "run make messages and translate these"
    assert stale == [], "run make messages (it drops messages the code no longer says)"


def test_translations_keep_the_placeholders() -> None:
    wrong = {
        msgid: danish
        for msgid, (danish, _) in _catalogue().items()
        if danish and _fields(msgid) != _fields(danish)
    }
    assert wrong == {}


def test_a_message_is_danish_on_a_page_and_english_in_the_api() -> None:
    msg = Msg("day {day} does not exist", day=32)
    assert msg.text() == "day 32 does not exist"
    assert messages.text(msg, "da") == "dag 32 findes ikke"
    assert messages.text(msg, "en") == "day 32 does not exist"


def test_times_are_copenhagen_and_states_are_the_screens_words() -> None:
    started = Msg(
        "the slot started at {start}, in the past", start=datetime(2026, 7, 1, 8, tzinfo=UTC)
    )
    assert started.text() == "the slot started at 2026-07-01 10:00, in the past"
    assert "10:00" in messages.text(started, "da")
    state = Msg(
        "it is {state}: only a completed examination can be reported", state=ProcedureState.BOOKED
    )
    assert messages.text(state, "da") == "den er «Booket»: kun en udført undersøgelse kan beskrives"
    assert state.text().startswith("it is booked:")
    why = Msg(
        "only a cancer-pathway referral has protocol days, not {priority}",
        priority=Priority.ROUTINE,
    )
    assert "«Rutine»" in messages.text(why, "da")


@pytest.mark.parametrize("lang", ["da", "en"])
def test_a_nested_message_and_a_list_follow_the_outer_language(lang: str) -> None:
    hint = Msg(
        "from {current} it can only go to: {options}",
        current=ProcedureState.REQUESTED,
        options=(ProcedureState.BOOKED, ProcedureState.CANCELLED),
    )
    outer = Msg("{accession}: {reason}", accession="A1", reason=hint)
    expected = {
        "da": "A1: fra «Afventer booking» kan den kun blive: Booket, Aflyst",
        "en": "A1: from Awaiting booking it can only go to: Booked, Cancelled",
    }
    assert messages.text(outer, lang) == expected[lang]


def test_a_stored_message_reads_back_the_same_in_either_language() -> None:
    why = Msg("{who} and no accession number", who=Msg("unknown patient '{key}'", key="X1"))
    stored = Msg.from_json(why.as_json())
    assert stored.text() == why.text() == "unknown patient 'X1' and no accession number"
    assert messages.text(stored, "da") == "ukendt patient 'X1' og intet accession-nummer"
    listed = Msg("not one of {levels}", levels=("a", "b"))
    assert Msg.from_json(listed.as_json()).text() == listed.text()
    with pytest.raises(TypeError):
        Msg("at {at}", at=datetime(2026, 1, 1, tzinfo=UTC)).as_json()
