"""Chromium for browser tests and benchmarks: Debian's build, one fresh profile per participant,
fake camera and microphone, driven by Playwright."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

from playwright.async_api import BrowserContext, Page, Playwright, expect

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


async def state(page: Page) -> dict[str, Any]:
    result: dict[str, Any] = await page.evaluate("window.parley.state()")
    return result


async def join_in_browser(page: Page, link: str, names: list[str], screenshot: Path | None = None) -> str:
    """Open the link, enter the people at this device, join; returns the device's user id."""
    await page.goto(link)
    inputs = page.get_by_test_id("name-input")
    await expect(inputs.first).to_be_visible(timeout=15_000)
    for index, name in enumerate(names):
        if index:
            await page.get_by_test_id("add-name").click()
        await inputs.nth(index).fill(name)
    if screenshot:
        await page.wait_for_timeout(1500)  # the camera preview starts
        await page.screenshot(path=str(screenshot))
    await page.get_by_test_id("join-button").click()
    deadline = time.monotonic() + 20
    while (user_id := (await state(page)).get("userId")) is None:
        assert time.monotonic() < deadline, "the browser was not admitted"
        await asyncio.sleep(0.1)
    return str(user_id)


async def decodes(page: Page, user_id: str, frames: int = 15) -> bool:
    peer = (await state(page))["peers"].get(user_id)
    return bool(peer) and peer["framesDecoded"] >= frames and peer["audioSamplesReceived"] > 0


async def wait_until(check: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        await asyncio.sleep(0.25)
