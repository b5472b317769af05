"""What a browser tells its user about the network: each tile's connection quality, and
"Reconnecting…" in the header when its path to the server is down; and what the server does for a
device whose link cannot carry the room's video: caps what the others send.

Each test builds its own network whatever `--wan` says (as tests/integration/test_call_turn.py
does): delegation A's browser and delegation B's SDK device, each behind its office's NAT router,
so the screenshot of the quality indicator under `bad-hotel` is taken on every run.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
from collections.abc import AsyncIterator
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from browsers import Browsers, decodes, join_in_browser, state, wait_until
from calls import THREE_DEVICES, joined, local_server, summit_links
from feeds import gaps
from playwright.async_api import Page, expect
from wan import devices
from wan.profiles import Profile, named
from wan.topology import SERVER_ADDRESS, Site, Wan

from parley.media.video_caps import CEILING
from parley.sdk.client import ParleyClient
from parley.server.runtime import ParleyServer

pytestmark = pytest.mark.anyio

NARROW_RATE = 300_000  # bit/s: less than the room's video cap, CEILING
SMOOTH_FOR_S = 5.0
FREEZE_S = 0.5


@contextlib.asynccontextmanager
async def call_across(
    tmp_path: Path, browsers: Browsers, profile: Profile | None
) -> AsyncIterator[tuple[Page, ParleyClient, Site, ParleyServer]]:
    """Browser A and SDK device B1 in a call, each in its office on `profile`; A's office too."""
    wan = Wan(profile, seed=14)
    try:
        with devices.offices(wan, ["Delegation A", "Delegation B"]):
            async with local_server(tmp_path / "parley", host=SERVER_ADDRESS) as server:
                links = summit_links(server, THREE_DEVICES[:2])
                page = await browsers.page("a", delegation="Delegation A")
                await join_in_browser(page, links[0], ["Principal A"])
                async with joined(links[1], "B1") as sdk:
                    office = devices.office("Delegation A")
                    assert office is not None
                    yield page, sdk, office, server
    finally:
        wan.close()


async def quality_of(page: Page, user_id: str) -> dict[str, Any] | None:
    found: dict[str, Any] | None = (await state(page))["quality"].get(user_id)
    return found


async def test_each_tile_shows_the_connection_quality_with_its_figures_under_bad_hotel(
    tmp_path: Path, browsers: Browsers, output: Path
) -> None:
    async with call_across(tmp_path, browsers, named("bad-hotel")) as (page, sdk, _, _):
        other = str(sdk.user_id)
        await wait_until(lambda: decodes(page, other), 60, "the browser to decode the SDK device")

        async def measured() -> bool:
            quality = await quality_of(page, other)
            return quality is not None and quality["roundTripMs"] is not None

        await wait_until(measured, 20, "a measured round trip")
        quality = await quality_of(page, other)
        assert quality is not None
        # 75 ms each way between the browser's office and the server: the ICE round trip shows it.
        assert 140 <= quality["roundTripMs"] <= 400
        assert 0 <= quality["lossPercent"] <= 100
        shown = page.locator(f'[data-testid="tile"][data-user-id="{other}"] [data-testid="tile-quality"]')
        await expect(shown).to_be_visible()
        badge = re.fullmatch(r"(Good|Fair|Poor|Frozen) · (\d+) ms · [\d.]+% lost", await shown.inner_text())
        assert badge is not None, await shown.inner_text()
        assert 140 <= int(badge[2]) <= 400
        label = await shown.get_attribute("aria-label")
        assert label is not None and "ms round trip" in label and "% packets lost" in label
        assert await shown.get_attribute("title") == label
        await page.screenshot(path=str(output / "quality-bad-hotel.png"))


async def test_a_browser_cut_off_from_the_server_says_reconnecting_then_recovers(
    tmp_path: Path, browsers: Browsers
) -> None:
    async with call_across(tmp_path, browsers, None) as (page, sdk, office, _):
        other = str(sdk.user_id)
        await wait_until(lambda: decodes(page, other), 40, "the browser to decode the SDK device")
        header = page.get_by_test_id("connection-state")
        await expect(header).to_have_text("Connected")
        assert not (await state(page))["reconnecting"]

        # The office's router forwards nothing: no signalling, no media, no ICE checks.
        office.router.run(["iptables", "-I", "FORWARD", "1", "-j", "DROP"])
        await expect(header).to_contain_text("Reconnecting", timeout=20_000)
        assert (await state(page))["reconnecting"]

        office.router.run(["iptables", "-D", "FORWARD", "1"])
        await expect(header).to_have_text("Connected", timeout=30_000)
        before = (await state(page))["peers"].get(other, {}).get("framesDecoded", 0)

        async def moving_again() -> bool:
            peer = (await state(page))["peers"].get(other)
            return peer is not None and peer["framesDecoded"] > before + 15

        await wait_until(moving_again, 30, "the picture to move again")
        assert not (await state(page))["reconnecting"]


async def test_a_receiver_whose_link_cannot_carry_the_video_has_it_capped_until_its_picture_runs(
    tmp_path: Path, browsers: Browsers
) -> None:
    """Midway through the call B1's office link narrows to 300 kbit/s towards B1: it can no longer
    take the browser's camera at the room's 400 kbit/s (the router's queue overflows and drops what
    does not fit). Janus reports B1's losses, the server lowers the browser's video cap (REMB)
    until they stop, and B1's picture of the browser runs again without freezing."""
    async with call_across(tmp_path, browsers, None) as (page, sdk, _, server):
        browser = int((await state(page))["userId"])
        await wait_until(partial(_runs, sdk, browser), 60, "B1's picture of the browser to run")
        assert server.media.video_cap(browser) == CEILING
        office = devices.office("Delegation B")
        assert office is not None
        office.narrow_down(NARROW_RATE)

        async def capped() -> bool:
            return server.media.video_cap(browser) < CEILING

        await wait_until(capped, 40, "the server to cap the browser's video")
        what = f"B1's picture of the browser to run {SMOOTH_FOR_S} s without a {FREEZE_S} s freeze again"
        await wait_until(partial(_runs, sdk, browser), 60, what)
        assert server.media.video_cap(browser) < CEILING


async def _runs(sdk: ParleyClient, user_id: int) -> bool:
    """Over the next SMOOTH_FOR_S seconds, does the SDK device decode `user_id`'s video without a
    freeze of FREEZE_S?"""
    await asyncio.sleep(SMOOTH_FOR_S)
    feed, now = sdk.feeds.get(user_id), time.monotonic()
    times = list(feed.video_times) if feed else []
    return max(gaps(times, now - SMOOTH_FOR_S, now)) < FREEZE_S
