"""The system's own names on a page, in the page's language: what happened (event kinds),
states, and the reasons the system writes itself (stored in English, like every code).

A reason the system stored as a message too (``Msg.as_json``: why a study or a performed
step matched nothing) is said from it; a reason a person typed is shown as typed; a kind
without a catalog text is shown as it is and logged, and tests/integration/test_danish_pages.py
fails on it.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from lysbord.domain.errors import Msg
from lysbord.services.pathway.mpps import DEFAULT_REASON
from lysbord.services.pathway.referrals import ALL_REPORTED, ENDED
from lysbord.web import i18n, messages

_REASONS = {ALL_REPORTED: "reason.all_reported", DEFAULT_REASON: "reason.discontinued_at_modality"}
log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Words:
    """``w`` in every template: ``w.event(e.kind)``, ``w.state(e.to_state)``, ``w.reason(...)``."""

    lang: str

    def event(self, kind: str) -> str:
        key = f"event.{kind}"
        if key not in i18n.catalog():
            log.warning("no text for event kind %r", kind)
            return kind
        return i18n.t(key, self.lang)

    def state(self, state: str | None) -> str:
        return i18n.t(f"state.{state}", self.lang) if state else ""

    def reason(self, text: str | None, message: Mapping[str, Any] | None = None) -> str:
        if message:
            return messages.text(Msg.from_json(message), self.lang)
        if not text:
            return ""
        if text in _REASONS:
            return i18n.t(_REASONS[text], self.lang)
        if text.startswith(ENDED):
            states = ", ".join(self.state(s) for s in text.removeprefix(ENDED).split(", "))
            return i18n.t("reason.ended", self.lang, states=states)
        return text
