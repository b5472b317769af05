"""Browsers in a certified summit (tests/certified.py): a browser joins on the link its officer
handed it, shows its enrollment code, and its delegation's officer console (the SDK's, a device
in the call holding the delegation key) approves the request after comparing that code, as an
officer would with the device's screen in front of them."""

from __future__ import annotations

import re
from pathlib import Path

from browsers import join_in_browser, state, wait_until
from calls import until
from certified import request_of
from playwright.async_api import Page, expect

from parley.sdk.client import ParleyClient

# The enrollment code as the device shows it: 20 digits in groups of five.
CODE = re.compile(r"^\d{5} \d{5} \d{5} \d{5}$")


async def enroll_in_browser(
    page: Page, link: str, names: list[str], console: ParleyClient, screenshot: Path | None = None
) -> int:
    """Join, show the code; the officer approves the request whose code it is. Returns the
    browser's user id once it holds its certificate and is in the call."""
    user_id = int(await join_in_browser(page, link, names))
    code = page.get_by_test_id("enrollment-code")
    await expect(code).to_have_text(CODE, timeout=15_000)
    await expect(page.get_by_test_id("enrollment-screen")).to_contain_text(
        "Show this code to your security officer"
    )
    if screenshot is not None:
        await page.screenshot(path=str(screenshot))
    shown = await code.text_content()
    await until(lambda: request_of(console, user_id) is not None, 10, "the request to reach the officer")
    waiting = request_of(console, user_id)
    assert waiting is not None and waiting.request.code == shown
    await console.approve(waiting)
    await wait_until(lambda: certified_and_in(page), 30, "the browser to take its certificate and go in")
    return user_id


async def certified_and_in(page: Page) -> bool:
    s = await state(page)
    return bool(s["admitted"] and s["identity"] and s["identity"]["certified"])


async def all_certified(page: Page, count: int) -> bool:
    s = await state(page)
    return bool(s["identity"] and s["identity"]["summary"] == f"all {count} members certified")
