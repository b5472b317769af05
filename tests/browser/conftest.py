"""Browser tests: Debian's Chromium, driven by Playwright, against the real server and Janus.

Each participant gets its own Chromium profile (a fresh user data directory) with fake camera and
microphone. Screenshots go to test-output/ at the top of the checkout.
"""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from browsers import CHROMIUM, OUTPUT, Browsers
from playwright.async_api import async_playwright


@pytest.fixture(scope="session", autouse=True)
def _chromium_installed() -> None:
    # No skip: a green run must mean a browser was really tested (scripts/setup installs it).
    assert shutil.which(CHROMIUM), (
        "chromium is not installed (apt-get install chromium; scripts/setup does it)"
    )


@pytest.fixture
async def browsers(tmp_path: Path) -> AsyncIterator[Browsers]:
    async with async_playwright() as playwright:
        opened = Browsers(playwright, tmp_path / "profiles")
        try:
            yield opened
        finally:
            await opened.close()


@pytest.fixture(scope="session")
def output() -> Path:
    OUTPUT.mkdir(exist_ok=True)
    return OUTPUT
