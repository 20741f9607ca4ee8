"""A service's message (``domain.errors.Msg``) in the page's language.

The services say why in English templates; this door looks each up in the catalogue
``src/lysbord/locale/<lang>/LC_MESSAGES/lysbord.po`` (``make messages`` extracts them,
tests/unit/test_messages.py fails on one without a Danish text) and names states and
priorities with the screens' own words. English is the templates themselves.
"""

from __future__ import annotations

import logging
from functools import cache, partial
from pathlib import Path

from babel.messages.pofile import read_po

from lysbord.domain.errors import Msg
from lysbord.domain.priorities import Priority
from lysbord.domain.workflow import ProcedureState
from lysbord.web import i18n

LOCALE = Path(__file__).parents[1] / "locale"
DOMAIN = "lysbord"
log = logging.getLogger(__name__)


def catalogue_path(lang: str) -> Path:
    return LOCALE / lang / "LC_MESSAGES" / f"{DOMAIN}.po"


@cache
def translations(lang: str) -> dict[str, str]:
    """msgid -> template in ``lang``; English (the msgids) needs none."""
    if lang == "en":
        return {}
    with catalogue_path(lang).open("rb") as f:
        catalog = read_po(f)
    return {
        m.id: m.string
        for m in catalog
        if isinstance(m.id, str) and m.id and isinstance(m.string, str) and m.string
    }


def text(msg: Msg, lang: str) -> str:
    """The message in ``lang`` (Danish unless English is asked for)."""
    lang = i18n.pick_lang(lang)
    return msg.text(partial(_template, lang), partial(_word, lang))


def _template(lang: str, msgid: str) -> str:
    found = translations(lang).get(msgid)
    if found is None and lang != "en":
        log.warning("no %s text for message %r", lang, msgid)
    return found or msgid


def _word(lang: str, value: object) -> str | None:
    """A state or a priority as the screens name it."""
    if isinstance(value, ProcedureState):
        return i18n.t(f"state.{value.value}", lang)
    if isinstance(value, Priority):
        return i18n.t(f"priority.{value.value}", lang)
    return None
