"""Danish first, English switchable: every text on a page comes from a TOML catalog.

Each file in ``locales/`` holds ``[key]`` tables with ``da`` and ``en``; all files are
merged at first use. A key defined twice, or lacking a language, is an error at load,
so a catalog mistake shows up in the first test rather than on a ward.
"""

from __future__ import annotations

import logging
import tomllib
from functools import cache
from pathlib import Path
from typing import Any

LOCALES = Path(__file__).parent / "locales"
LANGS = ("da", "en")
DEFAULT_LANG = "da"
log = logging.getLogger(__name__)


class CatalogError(ValueError):
    """A catalog file defines a key twice or misses a language."""


def load(folder: Path = LOCALES) -> dict[str, dict[str, str]]:
    """Merge every ``*.toml`` in ``folder``: key -> {lang: text}."""
    merged: dict[str, dict[str, str]] = {}
    for path in sorted(folder.glob("*.toml")):
        for key, texts in tomllib.loads(path.read_text(encoding="utf-8")).items():
            if key in merged:
                raise CatalogError(f"{path.name}: key {key!r} is defined in another catalog too")
            missing = [lang for lang in LANGS if not isinstance(texts.get(lang), str)]
            if missing:
                raise CatalogError(f"{path.name}: key {key!r} has no text for {missing}")
            merged[key] = {lang: texts[lang] for lang in LANGS}
    return merged


@cache
def catalog() -> dict[str, dict[str, str]]:
    return load()


def pick_lang(value: str | None) -> str:
    return value if value in LANGS else DEFAULT_LANG


def t(key: str, lang: str, **fmt: Any) -> str:
    """The text for ``key`` in ``lang``, ``str.format``-ed with ``fmt``.

    A missing key shows the key itself (and logs it) rather than failing the page;
    tests/unit/test_web_i18n.py finds every key used in templates and code.
    """
    texts = catalog().get(key)
    if texts is None:
        log.warning("no text for key %r", key)
        return key
    text = texts[pick_lang(lang)]
    return text.format(**fmt) if fmt else text
