"""Browser tests: Debian's Chromium, driven by Playwright, against the real server and Janus.

Each participant gets its own Chromium profile (a fresh user data directory) with fake camera and
microphone. Screenshots go to test-output/ at the top of the checkout.
"""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import BrowserContext, Page, Playwright, async_playwright

CHROMIUM = "/usr/bin/chromium"
OUTPUT = Path(__file__).resolve().parents[2] / "test-output"
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--use-fake-ui-for-media-stream",
    "--use-fake-device-for-media-stream",
    "--allow-loopback-in-peer-connection",
    "--disable-features=WebRtcHideLocalIpsWithMdns",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--autoplay-policy=no-user-gesture-required",
]


@pytest.fixture(scope="session", autouse=True)
def _chromium_installed() -> None:
    # No skip: a green run must mean a browser was really tested (scripts/setup installs it).
    assert shutil.which(CHROMIUM), (
        "chromium is not installed (apt-get install chromium; scripts/setup does it)"
    )


class Browsers:
    """Opens one Chromium profile per participant and closes them all at the end."""

    def __init__(self, playwright: Playwright, root: Path) -> None:
        self.playwright = playwright
        self.root = root
        self.contexts: list[BrowserContext] = []

    async def page(self, name: str) -> Page:
        context = await self.playwright.chromium.launch_persistent_context(
            str(self.root / name),
            executable_path=CHROMIUM,
            headless=True,
            args=FLAGS,
            viewport={"width": 1280, "height": 800},
        )
        self.contexts.append(context)
        return context.pages[0] if context.pages else await context.new_page()

    async def close(self) -> None:
        for context in self.contexts:
            await context.close()


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
