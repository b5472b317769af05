"""The host panel's lobby in the browser, kept from one op per device: those already waiting when
the host comes in, each later arrival, and each that leaves or is admitted."""

from __future__ import annotations

from pathlib import Path

import pytest
from browsers import Browsers, join_in_browser
from calls import summit_links
from playwright.async_api import expect

from parley.sdk.client import ParleyClient
from parley.server.runtime import ParleyServer
from parley.summit.course import Admission
from parley.summit.model import Role

pytestmark = pytest.mark.anyio


async def test_the_host_panel_follows_the_lobby_device_by_device(
    parley: ParleyServer, browsers: Browsers, output: Path
) -> None:
    host_link, early_link, late_link = summit_links(
        parley,
        [("Delegation A", Role.HOST), ("Delegation B", Role.PRINCIPAL), ("Delegation B", Role.DELEGATE)],
        admission=Admission.HOST,
    )
    early = ParleyClient(early_link, ["Principal B", "\U00020bb7\u91ce Aide"])
    late = ParleyClient(late_link, ["Delegate B"])
    await early.join()  # waiting before the host is there
    page = await browsers.page("host")
    try:
        await join_in_browser(page, host_link, ["Chair"])
        entries = page.get_by_test_id("lobby-entry")
        entry = page.locator(f'[data-testid="lobby-entry"][data-user-id="{early.user_id}"]')
        await expect(entry).to_contain_text("\U00020bb7\u91ce Aide", timeout=15_000)
        await late.join()
        await expect(entries).to_have_count(2, timeout=10_000)
        await page.screenshot(path=str(output / "host-lobby.png"))
        await early.leave()
        await expect(entry).to_have_count(0, timeout=10_000)
        late_entry = page.locator(f'[data-testid="lobby-entry"][data-user-id="{late.user_id}"]')
        await late_entry.get_by_test_id("admit-button").click()
        await late.wait_admitted(10)
        await expect(entries).to_have_count(0, timeout=10_000)
        await expect(page.locator(f'[data-testid="tile"][data-user-id="{late.user_id}"]')).to_be_visible()
    finally:
        await late.close()
        await early.close()
