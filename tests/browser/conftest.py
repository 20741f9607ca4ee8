"""Headless Chromium against a real Lysbord server: fixtures for every browser test.

Each test gets its own SQLite database (the small region plus one user per role), its
own uvicorn on a free port (``tests.live.live_server``) and its own browser context
(fresh cookies), so tests run in parallel under xdist. One Debian Chromium per test
process (``/usr/bin/chromium``; Playwright never downloads a browser), launched with
Playwright's fresh temporary profile (its own user-data-dir each launch). Every test
here is marked ``browser`` (and ``slow``): ``-m 'not browser'`` leaves them out.

Browser tests run on SQLite only: the pages call the same services the PostgreSQL
suite already covers, and a second backend would double the slowest tests.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page

from lysbord.app import create_app
from lysbord.domain.access import Role
from lysbord.services.core.context import Context
from tests.live import live_server
from tests.web_fixtures import user_for

ROOT = Path(__file__).resolve().parents[2]
AXE = ROOT / ".node" / "node_modules" / "axe-core" / "axe.min.js"
ARTIFACTS = ROOT / "test-artifacts"
SCREENSHOTS = ROOT / "docs" / "screenshots"
FAILING_IMPACTS = ("serious", "critical")
TIMEOUT_MS = 20_000  # a shared CI box can be slow; a real failure still fails

HERE = Path(__file__).parent


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "browser: drives headless Chromium (tests/browser)")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test here is ``browser`` and ``slow``; no xdist group: each has its own server
    and database, so ``-n auto`` spreads them freely."""
    for item in items:
        if item.path.is_relative_to(HERE):
            item.add_marker(pytest.mark.browser)
            item.add_marker(pytest.mark.slow)


@pytest.fixture
def database_url(tmp_path: Path, sqlite_template: Path) -> str:
    """SQLite only here (see the module docstring); overrides the two-backend fixture."""
    path = tmp_path / "lysbord.db"
    shutil.copy(sqlite_template, path)
    return f"sqlite:///{path}"


@pytest.fixture
def users(ctx: Context) -> dict[Role, tuple[str, str]]:
    """One user per role: role -> (username, password)."""
    return {role: user_for(ctx, role, username=f"{role.value}.test") for role in Role}


@pytest.fixture
def server(ctx: Context, users: dict[Role, tuple[str, str]]) -> Iterator[str]:
    """The base URL of a live Lysbord over ``ctx``."""
    with live_server(create_app(ctx)) as url:
        yield url


@pytest.fixture
def page(browser: Browser, server: str) -> Iterator[Page]:
    """A page in a fresh browser context (no cookies) whose relative URLs go to ``server``."""
    context = browser.new_context(base_url=server, viewport={"width": 1280, "height": 800})
    context.set_default_timeout(TIMEOUT_MS)
    tab = context.new_page()
    yield tab
    context.close()


@pytest.fixture
def sign_in(users: dict[Role, tuple[str, str]]) -> Callable[..., None]:
    """``sign_in(page, Role.radiographer)``: through the real form, then on the start page."""

    def go(page: Page, role: Role, next_path: str = "/") -> None:
        username, password = users[role]
        page.goto(f"/login?next={next_path}")
        page.get_by_label("Brugernavn").fill(username)
        page.get_by_label("Adgangskode").fill(password)
        page.get_by_role("button", name="Log ind").click()
        page.wait_for_url(lambda url: "/login" not in url)

    return go


def save_screenshot(page: Page, name: str) -> Path:
    """Full page, to test-artifacts/ (kept by CI) and docs/screenshots/ (linked from README)."""
    ARTIFACTS.mkdir(exist_ok=True)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    shot = ARTIFACTS / f"{name}.png"
    page.screenshot(path=shot, full_page=True)
    shutil.copyfile(shot, SCREENSHOTS / f"{name}.png")
    return shot


@pytest.fixture
def screenshot() -> Callable[[Page, str], Path]:
    return save_screenshot


def axe_violations(page: Page) -> list[dict[str, Any]]:
    """axe-core's serious and critical violations on the page as it is now."""
    if not AXE.exists():
        pytest.fail(f"no {AXE}: run `make web-test-deps` (npm axe-core)")
    page.evaluate(AXE.read_text())  # through DevTools: our CSP refuses inline scripts
    result: dict[str, Any] = page.evaluate(
        "async () => await axe.run(document, {resultTypes: ['violations']})"
    )
    return [v for v in result["violations"] if v.get("impact") in FAILING_IMPACTS]


def describe(violations: list[dict[str, Any]]) -> str:
    return "\n".join(
        f"{v['impact']}: {v['id']} ({v['help']}) at {[n['target'] for n in v['nodes']][:3]}"
        for v in violations
    )


@pytest.fixture
def check_a11y() -> Callable[[Page], None]:
    """``check_a11y(page)``: fail on any serious or critical axe-core violation."""

    def check(page: Page) -> None:
        violations = axe_violations(page)
        assert not violations, "accessibility violations:\n" + describe(violations)

    return check
