"""The browser holds the server to the key group: a hidden member, a swapped key, a stable code.

Real Chromium with davey in its worker, the real server and Janus, an SDK device as the other
party; the server is made hostile in-process (tests/hostile.py). What is checked is what a person
sees (the alarm naming the user id, a screenshot in test-output/) and what leaves the browser,
observed at Janus: a keyless subscriber to the browser's feed at Janus itself counts the frames
Janus forwards, and they stop while the key group holds someone the roster does not explain.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from browsers import Browsers, decodes, join_in_browser, state, wait_until
from calls import Spied, janus_spy, joined, summit_links, until
from hostile import hide_from_roster, room_of, swap_key
from playwright.async_api import Page, expect

from parley.sdk.client import ParleyClient
from parley.server.runtime import ParleyServer
from parley.summit.model import Role

pytestmark = pytest.mark.anyio

INVITES = [("Delegation A", Role.PRINCIPAL), ("Delegation B", Role.PRINCIPAL)]
THREE = [*INVITES, ("Delegation B", Role.DELEGATE)]

# Frames already sealed when the hold begins are still in flight for a moment.
IN_FLIGHT_S = 1.0
# Long enough for dozens of audio and video frames, were any sent.
QUIET_S = 3.0


async def flowing(spied: Spied) -> None:
    """Frames from the feed are reaching Janus now (the spy sees the count rise)."""
    start = len(spied.forwarded)
    await until(lambda: len(spied.forwarded) > start + 20, 20, "the browser's frames at Janus")


async def nothing_leaves(spied: Spied) -> None:
    """Once what was in flight has arrived, Janus forwards not one more frame of the feed."""
    await asyncio.sleep(IN_FLIGHT_S)
    held_at = len(spied.forwarded)
    await asyncio.sleep(QUIET_S)
    assert len(spied.forwarded) == held_at, (
        f"{len(spied.forwarded) - held_at} frames reached Janus while media was held"
    )


async def alarm_names(page: Page, user_id: int, reason: str) -> None:
    await wait_until(lambda: _has_alarm(page, user_id, reason), 40, f"the {reason} alarm naming {user_id}")
    banner = page.get_by_test_id("encryption-alarm")
    await expect(banner).to_be_visible()
    await expect(banner).to_contain_text(str(user_id))
    indicator = page.get_by_test_id("encryption-indicator")
    await expect(indicator).not_to_contain_text("End-to-end encrypted")


async def _has_alarm(page: Page, user_id: int, reason: str) -> bool:
    alarms = (await state(page))["alarms"]
    return {"reason": reason, "userId": str(user_id)} in alarms


async def in_call(page: Page, sdk: ParleyClient) -> str:
    """The browser decodes the SDK device, and the SDK device decrypts new frames of the browser."""
    browser = str((await state(page))["userId"])
    await wait_until(lambda: decodes(page, str(sdk.user_id)), 40, "the browser to decode the SDK")
    baseline = _decrypted(sdk, int(browser))

    def rising() -> bool:
        nonlocal baseline
        now = _decrypted(sdk, int(browser))
        baseline = min(baseline, now)  # a new subscription counts from zero
        return now > baseline + 10

    await until(rising, 30, "the SDK to decrypt the browser")
    return browser


def _decrypted(sdk: ParleyClient, feed: int) -> int:
    found = sdk.feeds.get(feed)
    return sum(s.decrypted for s in found.stats.values()) if found else 0


async def test_a_member_the_server_hides_from_the_roster_raises_the_alarm_and_the_browser_sends_nothing(
    parley: ParleyServer, browsers: Browsers, output: Path
) -> None:
    links = summit_links(parley, INVITES)
    page = await browsers.page("hidden", delegation="Delegation A")
    browser = int(await join_in_browser(page, links[0], ["Principal A"]))
    async with joined(links[1], "B1") as sdk:
        await in_call(page, sdk)
        async with janus_spy(parley, sdk.summit.channel_id, browser) as spied:
            await flowing(spied)
            # The SDK device stays in the key group; the roster no longer shows it.
            room = room_of(parley, sdk.summit.summit_id)
            hide_from_roster(room, lambda device: device.user_id == sdk.user_id)
            await alarm_names(page, sdk.user_id, "hidden_member")
            hidden = page.get_by_test_id("unknown-member")
            await expect(hidden).to_have_attribute("data-user-id", str(sdk.user_id))
            await expect(hidden).to_contain_text(f"Unknown member {sdk.user_id}")
            await page.screenshot(path=str(output / "hidden-member-alarm.png"))
            assert (await state(page))["held"]
            decrypted = _decrypted(sdk, browser)
            await nothing_leaves(spied)
            # What the hidden member got of the browser in that time: nothing new either.
            assert _decrypted(sdk, browser) - decrypted < 5  # a few in flight at most


async def test_a_third_device_the_roster_never_shows_is_an_unknown_member_and_gets_nothing_from_the_browser(
    parley: ParleyServer, browsers: Browsers, output: Path
) -> None:
    links = summit_links(parley, THREE)
    page = await browsers.page("never-shown", delegation="Delegation A")
    browser = int(await join_in_browser(page, links[0], ["Principal A"]))
    async with joined(links[1], "B1") as sdk:
        await in_call(page, sdk)
        room = room_of(parley, sdk.summit.summit_id)
        # Every delegate is left out of the roster from the start; the gateway adds it all the same.
        hide_from_roster(room, lambda device: device.role is Role.DELEGATE)
        async with janus_spy(parley, sdk.summit.channel_id, browser) as spied:
            await flowing(spied)
            async with joined(links[2], "B2") as hidden:
                await alarm_names(page, hidden.user_id, "hidden_member")
                shown = page.get_by_test_id("unknown-member")
                await expect(shown).to_have_attribute("data-user-id", str(hidden.user_id))
                await page.screenshot(path=str(output / "unknown-member-alarm.png"))
                await nothing_leaves(spied)
                # The hidden device holds the browser's keys (it shares the key group), and has
                # decrypted not one frame of the browser: none was sent since it joined.
                assert hidden.member is not None and browser in hidden.member.roster
                assert _decrypted(hidden, browser) == 0


async def test_a_key_swapped_under_a_members_user_id_raises_the_alarm_and_the_browser_sends_nothing(
    parley: ParleyServer, browsers: Browsers, output: Path
) -> None:
    # Three devices: with two, removing one leaf would leave a sole member and re-create the group.
    links = summit_links(parley, THREE)
    page = await browsers.page("swapped", delegation="Delegation A")
    browser = int(await join_in_browser(page, links[0], ["Principal A"]))
    async with joined(links[1], "B1") as sdk, joined(links[2], "B2") as third:
        await in_call(page, sdk)
        await in_call(page, third)
        async with janus_spy(parley, sdk.summit.channel_id, browser) as spied:
            await flowing(spied)
            # The gateway removes the SDK device's leaf and adds a key of its own under its user id.
            swap_key(room_of(parley, sdk.summit.summit_id), sdk.user_id)
            await alarm_names(page, sdk.user_id, "key_changed")
            await wait_until(lambda: _held(page), 20, "the browser to hold its media")
            tile = page.locator(f'[data-testid="tile"][data-user-id="{sdk.user_id}"]')
            await expect(tile.get_by_test_id("tile-flag")).to_contain_text("Key changed")
            await page.screenshot(path=str(output / "key-swap-alarm.png"))
            await nothing_leaves(spied)


async def _held(page: Page) -> bool:
    return bool((await state(page))["held"])


async def test_a_browser_that_reloads_comes_back_with_its_user_id_and_the_same_pairwise_code(
    parley: ParleyServer, browsers: Browsers
) -> None:
    links = summit_links(parley, INVITES)
    page = await browsers.page("reloads", delegation="Delegation A")
    browser = await join_in_browser(page, links[0], ["Principal A"])
    async with joined(links[1], "B1") as sdk:
        await in_call(page, sdk)
        before = await sdk.pairwise_code(int(browser))
        key = (await state(page))["publicKey"]

        await page.reload()
        again = await join_in_browser(page, links[0], ["Principal A"])
        assert again == browser  # the same link and key: the same user id
        assert (await state(page))["publicKey"] == key
        await in_call(page, sdk)
        assert await sdk.pairwise_code(int(browser)) == before
        # And the browser shows the SDK device the same code from its side.
        await page.locator(f'[data-testid="tile"][data-user-id="{sdk.user_id}"]').click()
        await expect(page.get_by_test_id("pairwise-code")).to_have_text(before, timeout=15_000)
        assert (await state(page))["newKeys"] == []


async def test_a_device_back_on_its_link_with_another_key_is_marked_new_key_since_last_call(
    parley: ParleyServer, browsers: Browsers, tmp_path: Path
) -> None:
    links = summit_links(parley, INVITES)
    page = await browsers.page("remembers", delegation="Delegation A")
    await join_in_browser(page, links[0], ["Principal A"])
    first = ParleyClient(links[1], ["Principal B"], key_file=tmp_path / "first.jwk")
    await first.join()
    await first.close()
    # The same link from another machine (another key): the server gives it another user id.
    second = ParleyClient(links[1], ["Principal B"], key_file=tmp_path / "second.jwk")
    await second.join()
    try:
        assert second.user_id != first.user_id
        tile = page.locator(f'[data-testid="tile"][data-user-id="{second.user_id}"]')
        await expect(tile.get_by_test_id("tile-flag")).to_contain_text(
            "New key since last call", timeout=20_000
        )
        assert (await state(page))["newKeys"] == [str(second.user_id)]
    finally:
        await second.close()
