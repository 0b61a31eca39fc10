"""Driving the pages in headless Chromium (Debian's, never a downloaded one) against a live server.

Each test gets a :class:`Journey`: a browser page on the live server, plus helpers to sign in with a
real TOTP code and to check a page — no accessibility violations (axe-core, WCAG 2.2 AA), nothing the
Content Security Policy refused, and a screenshot under build/screenshots/.

The journey runs with the real CSP. axe-core has to be injected as a script, which the CSP rightly
refuses, so axe runs in a second browser context with ``bypass_csp=True``, on a copy of the journey's
page (its HTML as it stands, on the live server's origin so that its styles load): pages reached by a
POST are checked too, and axe is injected once per journey rather than once per page.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

# Playwright's sync API runs an event loop in this thread; the tests still use the ORM synchronously.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
SCREENSHOTS = ROOT / "build" / "screenshots"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
WCAG_22_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if Path(str(item.fspath)).is_relative_to(Path(__file__).parent):
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.skip("Chromium is not installed: run scripts/setup-browser")
    if not AXE.exists():
        pytest.skip("axe-core is not installed: run scripts/setup (npm)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


class Journey:
    """One person's browser session on the live server."""

    def __init__(self, browser: Any, base_url: str, *, javascript: bool = True) -> None:
        self.browser = browser
        self.base_url = base_url
        self.context = browser.new_context(base_url=base_url, java_script_enabled=javascript)
        self.context.set_default_timeout(10_000)
        self.page = self.context.new_page()
        self.csp_refusals: list[str] = []
        self.page.on("console", self._console)
        self._axe_context: Any = None
        self._axe_page: Any = None
        self.checked: list[str] = []

    def _console(self, message: Any) -> None:
        if "Content Security Policy" in message.text or "Refused to" in message.text:
            self.csp_refusals.append(message.text)

    def close(self) -> None:
        if self._axe_context is not None:
            self._axe_context.close()
        self.context.close()

    # Moving around ------------------------------------------------------------------------------------

    def goto(self, path: str) -> Any:
        return self.page.goto(self.base_url + path)

    def sign_in(self, user: Any, password: str | None = None) -> None:
        """Sign in through the pages: username and password, then the current code from the user's app."""
        from access.factories import PASSWORD, totp_code

        self.goto("/sign-in")
        self.page.get_by_label("Username").fill(user.username)
        self.page.get_by_label("Password").fill(password or PASSWORD)
        self.page.get_by_role("button", name="Continue").click()
        self.page.get_by_label("Enter the code from your authenticator app").fill(totp_code(user))
        self.page.get_by_role("button", name="Sign in").click()

    def heading(self) -> str:
        return str(self.page.locator("h1").first.inner_text()).strip()

    # Checking a page ----------------------------------------------------------------------------------

    def check(self, name: str) -> None:
        """The page as it stands: accessible (axe, WCAG 2.2 AA), nothing refused by the CSP; screenshot."""
        assert not self.csp_refusals, f"{name}: the Content Security Policy refused {self.csp_refusals}"
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
        violations = self.axe_violations()
        assert violations == [], f"{name}: accessibility violations:\n" + "\n".join(violations)
        self.checked.append(name)

    def axe_violations(self) -> list[str]:
        html = self.page.content()
        if self._axe_page is None:
            self._axe_context = self.browser.new_context(bypass_csp=True, base_url=self.base_url)
            self._axe_page = self._axe_context.new_page()
            # A blank page on the live server's origin, so that the copies' styles and scripts load from it.
            blank = self.base_url + "/__axe__"
            self._axe_page.route(blank, lambda route: route.fulfill(status=200, content_type="text/html", body=""))
            self._axe_page.goto(blank)
        page = self._axe_page
        page.set_content(html)
        if not page.evaluate("typeof axe !== 'undefined'"):
            page.add_script_tag(path=str(AXE))
        result = page.evaluate(
            "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']})",
            WCAG_22_AA,
        )
        return [
            f"- {v['id']} ({v['impact']}): {v['help']} at "
            + ", ".join(" ".join(node["target"]) for node in v["nodes"][:5])
            for v in result["violations"]
        ]


@pytest.fixture
def journey(browser: Any, live_server: Any, transactional_db: Any) -> Iterator[Journey]:
    session = Journey(browser, live_server.url)
    yield session
    session.close()


@pytest.fixture
def another_journey(browser: Any, live_server: Any, transactional_db: Any) -> Iterator[Journey]:
    """A second person at another computer, for journeys with two people (a practitioner and the team)."""
    session = Journey(browser, live_server.url)
    yield session
    session.close()


@pytest.fixture
def journey_without_javascript(browser: Any, live_server: Any, transactional_db: Any) -> Iterator[Journey]:
    """Someone whose browser runs no JavaScript (old, locked down, or a script that failed to load)."""
    session = Journey(browser, live_server.url, javascript=False)
    yield session
    session.close()


def path_of(url: str) -> str:
    return re.sub(r"^https?://[^/]+", "", url)
