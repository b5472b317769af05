"""Chromium for browser tests and benchmarks: Debian's build, one fresh profile per participant,
fake camera and microphone, driven by Playwright."""

from __future__ import annotations

from pathlib import Path

from playwright.async_api import BrowserContext, Page, Playwright

CHROMIUM = "/usr/bin/chromium"
OUTPUT = Path(__file__).resolve().parents[1] / "test-output"
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
