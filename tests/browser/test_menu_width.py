"""The menu fits a 1366-pixel screen (the commonest hospital laptop) for every role: one
row of links beside the tools, nothing cut off, no sideways scrolling (issue 23)."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser

from lysbord.domain.access import Role
from tests.browser.conftest import TIMEOUT_MS

WIDTH = 1366


@pytest.mark.parametrize("role", list(Role), ids=lambda r: r.value)
def test_the_menu_fits_1366_pixels(browser: Browser, server: str, sign_in, role: Role) -> None:
    context = browser.new_context(base_url=server, viewport={"width": WIDTH, "height": 768})
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    try:
        sign_in(page, role)
        fit = page.evaluate(
            """() => {
              const links = [...document.querySelectorAll('header nav a')];
              const header = document.querySelector('header').getBoundingClientRect();
              return {
                rows: new Set(links.map(a => Math.round(a.getBoundingClientRect().top))).size,
                rightmost: Math.max(...[...document.querySelectorAll('header *')]
                  .map(e => e.getBoundingClientRect().right)),
                headerHeight: header.height,
                scroll: document.documentElement.scrollWidth,
                links: links.length,
              };
            }"""
        )
    finally:
        context.close()
    assert fit["links"] > 0
    assert fit["rows"] == 1, f"{role.value}: the menu wraps onto {fit['rows']} rows"
    assert fit["rightmost"] <= WIDTH and fit["scroll"] <= WIDTH, fit
