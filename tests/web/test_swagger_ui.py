"""Swagger UI at /docs in real headless Chromium: offline, Authorize, and "Try it out".

Uses Debian's ``chromium`` (never a downloaded browser). Without it the test fails in CI (CI is
set) and is skipped elsewhere, with the command that installs it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.support.server import ROOT
from tests.web.conftest import Api

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]
#: The screenshot in the docs is refreshed on request (UPDATE_SCREENSHOT=1), not by every run.
SCREENSHOT = ROOT / "docs" / "swagger-ui.png"
LOCAL_SCHEMES = {"data", "blob", "about"}


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    if not CHROMIUM.exists():
        message = f"{CHROMIUM} is missing: apt-get install -y chromium"
        if os.environ.get("CI"):
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        yield browser
        browser.close()


@pytest.fixture
def page(chromium: Any) -> Iterator[Any]:
    context = chromium.new_context(viewport={"width": 1280, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(20_000)
    yield page
    context.close()


def test_swagger_ui_lists_every_operation_and_fetches_nothing_from_outside(
    sqlite_api: Api, page: Any
) -> None:
    origin = urlsplit(sqlite_api.url).netloc
    outside: list[str] = []
    page.on("request", lambda request: outside.append(request.url) if (
        urlsplit(request.url).scheme not in LOCAL_SCHEMES
        and urlsplit(request.url).netloc != origin) else None)
    page.goto(f"{sqlite_api.url}/docs", wait_until="networkidle")
    page.wait_for_selector(".opblock-summary")
    assert page.locator(".opblock").count() == 9
    assert "Incident Tracker API" in page.locator(".info .title").inner_text()
    assert outside == []


def test_swagger_ui_authorizes_with_a_bearer_token_and_tries_the_list(
    sqlite_api: Api, page: Any, tmp_path: Path
) -> None:
    token = sqlite_api.session()["access_token"]
    sqlite_api.create_incident(sqlite_api.auth(), description="Seen from Swagger UI")
    sent: list[str | None] = []
    page.on("request", lambda request: sent.append(request.headers.get("authorization"))
            if "/api/v1/incidents" in request.url else None)
    page.goto(f"{sqlite_api.url}/docs", wait_until="networkidle")

    page.click("button.authorize")
    page.fill(".modal-ux input", token)
    page.click(".modal-ux .auth-btn-wrapper button.authorize")
    page.click(".modal-ux button.btn-done")

    operation = page.locator("#operations-incidents-list_incidents")
    operation.locator(".opblock-summary").click()
    operation.locator("button.try-out__btn").click()
    operation.locator("button.execute").click()
    status = operation.locator(".live-responses-table .response .response-col_status")
    status.first.wait_for()
    assert status.first.inner_text().strip() == "200"
    assert sent and sent[-1] == f"Bearer {token}"

    target = SCREENSHOT if os.environ.get("UPDATE_SCREENSHOT") else tmp_path / SCREENSHOT.name
    shown = operation.locator(".live-responses-table").first.bounding_box()
    bottom = shown["y"] + shown["height"] + page.evaluate("window.scrollY") + 16
    page.screenshot(path=str(target), full_page=True,
                    clip={"x": 0, "y": 0, "width": 1280, "height": bottom})
