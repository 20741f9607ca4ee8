"""Every text key the web pages use exists in Danish and English; catalogs stay consistent."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from lysbord.domain.access import Role
from lysbord.services.messaging.inbox import APPLIED, ERROR, REJECTED
from lysbord.services.messaging.outbox_queue import OutboxStatus
from lysbord.services.operations.status import QUEUES
from lysbord.web import i18n

WEB = Path(i18n.__file__).parent
#: t("key") / t('key') in templates and code.
CALLS = re.compile(r"""\bt\(\s*["']([a-z0-9_]+(?:\.[a-z0-9_]+)+)["']""")
#: Keys handed to templates as values: "area.key" strings in the web package's Python.
VALUES = re.compile(r"""["']((?:auth|nav|users|status|app|form)\.[a-z0-9_]+)["']""")


def used_keys() -> set[str]:
    keys: set[str] = set()
    for path in [*WEB.rglob("*.html"), *WEB.rglob("*.py")]:
        text = path.read_text(encoding="utf-8")
        keys |= set(CALLS.findall(text))
        if path.suffix == ".py":
            keys |= {k for k in VALUES.findall(text) if not k.endswith((".html", ".toml"))}
    keys |= {f"role.{role.value}" for role in Role}  # "role." ~ r in users.html
    keys |= {f"status.queue_{name}" for name, _, _ in QUEUES}
    keys |= {f"status.message_{s}" for s in (*OutboxStatus, APPLIED, REJECTED, ERROR)}
    return keys


def test_every_key_used_has_both_languages():
    """A key ending in ``_`` is a prefix joined in the template (``t("x.next_" ~ view)``)."""
    catalog = i18n.catalog()
    keys = used_keys()
    missing = sorted(k for k in keys if not k.endswith("_") and k not in catalog)
    assert missing == []
    prefixes = [k for k in keys if k.endswith("_")]
    assert [p for p in prefixes if not any(k.startswith(p) for k in catalog)] == []
    assert all(set(texts) == set(i18n.LANGS) for texts in catalog.values())


def test_a_key_in_two_catalogs_or_without_a_language_is_an_error(tmp_path):
    (tmp_path / "a.toml").write_text('["x.y"]\nda = "a"\nen = "b"\n', encoding="utf-8")
    (tmp_path / "b.toml").write_text('["x.y"]\nda = "c"\nen = "d"\n', encoding="utf-8")
    with pytest.raises(i18n.CatalogError, match="x.y"):
        i18n.load(tmp_path)
    (tmp_path / "b.toml").write_text('["x.z"]\nda = "c"\n', encoding="utf-8")
    with pytest.raises(i18n.CatalogError, match="'en'"):
        i18n.load(tmp_path)


def test_translation_formats_and_falls_back_to_danish():
    assert i18n.t("app.welcome", "en", name="Åse") == "Welcome, Åse"
    assert i18n.t("app.welcome", "xx", name="Åse") == "Velkommen, Åse"
    assert i18n.t("no.such_key", "da") == "no.such_key"
