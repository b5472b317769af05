"""The summit's course in the browser: the press view and its cut, the host panel and the lobby.

Every browser and SDK device says its delegation, so on a WAN run (`--wan`) each is in its
delegation's office, behind the NAT router and the impairer (docs/testing-wan.md)."""

from __future__ import annotations

import asyncio
import itertools
import time
from pathlib import Path

import pytest
from browsers import Browsers, decodes, join_in_browser, state, wait_until
from calls import PATTERNS, join, joined, receiving, summit_links, until
from playwright.async_api import expect
from wan.profiles import Profile, longest_freeze

from parley.protocol.codes import ErrorCode
from parley.sdk.client import JoinError, ParleyClient
from parley.server.runtime import ParleyServer
from parley.summit.course import Admission
from parley.summit.model import Role

pytestmark = pytest.mark.anyio


def largest_gap(times: list[float], start: float, end: float) -> float:
    window = [t for t in times if start <= t <= end]
    assert len(window) > 5, "frames stopped altogether"
    return max(later - earlier for earlier, later in itertools.pairwise(window))


async def test_the_press_sees_the_opening_then_is_cut_and_the_floor_goes_on(
    parley: ParleyServer, browsers: Browsers, output: Path, wan_profile: Profile | None
) -> None:
    links = summit_links(
        parley, [("Delegation A", Role.HOST), ("Delegation B", Role.PRINCIPAL), ("Delegation B", Role.PRESS)]
    )
    async with joined(links[0], "A") as host, joined(links[1], "B1") as b:
        await host.advance("lobby")
        await host.advance("opening")
        page = await browsers.page("press", delegation="Delegation B")
        await join_in_browser(page, links[2], ["Press pool"])
        await expect(page.get_by_test_id("press-badge")).to_be_visible(timeout=15_000)
        for floor in (host, b):
            await wait_until(
                lambda floor=floor: decodes(page, str(floor.user_id)), 40, "the press to see the floor"
            )
        await until(lambda: receiving(b.feeds.get(host.user_id), PATTERNS["A"]), 30, "B to see A")
        await until(lambda: receiving(host.feeds.get(b.user_id), PATTERNS["B1"]), 30, "A to see B")
        await page.screenshot(path=str(output / "press-view.png"))

        cut = time.monotonic()
        await host.advance("closed_session")
        final = page.get_by_test_id("final-screen")
        await expect(final).to_be_visible(timeout=5_000)
        await expect(final).to_have_attribute("data-reason", "opening_ended")
        await expect(final).to_contain_text("opening has ended")
        decoded = {k: v["framesDecoded"] for k, v in (await state(page))["peers"].items()}
        await asyncio.sleep(2)
        later = {k: v["framesDecoded"] for k, v in (await state(page))["peers"].items()}
        assert all(later.get(k, n) == n for k, n in decoded.items()), (
            "the press decoded new frames after the cut"
        )
        await page.screenshot(path=str(output / "press-cut.png"))

        end = time.monotonic()
        for receiver, sender in ((b, host), (host, b)):
            gap = largest_gap(list(receiver.feeds[sender.user_id].video_times), cut - 2, end)
            # On a WAN, no gap longer than one packet lost for good may cause, cut or not.
            bound = longest_freeze(wan_profile, 1.0)
            assert gap < bound, f"a {gap:.2f} s gap in the delegations' call across the cut"


async def test_the_host_admits_from_the_lobby_in_the_browser(
    parley: ParleyServer, browsers: Browsers, output: Path
) -> None:
    host_link, guest_link = summit_links(
        parley, [("Delegation A", Role.HOST), ("Delegation B", Role.PRINCIPAL)], admission=Admission.HOST
    )
    page = await browsers.page("host", delegation="Delegation A")
    await join_in_browser(page, host_link, ["Chair"])
    await expect(page.get_by_test_id("host-panel")).to_be_visible(timeout=15_000)
    guest = await join(ParleyClient(guest_link, ["Principal B"]), "Delegation B")
    try:
        entry = page.locator(f'[data-testid="lobby-entry"][data-user-id="{guest.user_id}"]')
        await expect(entry).to_be_visible(timeout=10_000)
        await page.screenshot(path=str(output / "host-panel.png"))
        assert not guest.admitted.is_set()
        await entry.get_by_test_id("admit-button").click()
        await guest.wait_admitted(10)
        await expect(page.locator(f'[data-testid="tile"][data-user-id="{guest.user_id}"]')).to_be_visible()
    finally:
        await guest.close()


async def test_the_host_panel_flags_a_removed_link_in_the_lobby_and_revokes_a_devices_link(
    parley: ParleyServer, browsers: Browsers, output: Path
) -> None:
    host_link, removed_link, revoked_link = summit_links(
        parley,
        [("Delegation A", Role.HOST), ("Delegation B", Role.PRINCIPAL), ("Delegation B", Role.DELEGATE)],
        admission=Admission.OPEN,
    )
    page = await browsers.page("host", delegation="Delegation A")
    await join_in_browser(page, host_link, ["Chair"])
    await expect(page.get_by_test_id("host-panel")).to_be_visible(timeout=15_000)
    async with joined(revoked_link, "B2") as revoked:
        removed = await join(ParleyClient(removed_link, ["Principal B"]), "Delegation B")
        try:
            # The host removes B's principal from its tile; its link used again waits, flagged.
            tile = page.locator(f'[data-testid="tile"][data-user-id="{removed.user_id}"]')
            await tile.hover()
            await tile.get_by_test_id("remove-button").click()
            await page.get_by_test_id("confirm-accept").click()
            await until(lambda: removed.ended is not None, 10, "the removal")
        finally:
            await removed.close()
        again = await join(ParleyClient(removed_link, ["Principal B"]), "Delegation B")
        try:
            entry = page.locator(f'[data-testid="lobby-entry"][data-user-id="{again.user_id}"]')
            await expect(entry.get_by_test_id("lobby-removed")).to_be_visible(timeout=10_000)
            await expect(entry.get_by_test_id("admit-button")).to_have_text("Admit again")
            assert not again.admitted.is_set()

            # The host revokes the delegate's link from the panel: it leaves at once, for good.
            link_entry = page.locator(f'[data-testid="link-entry"][data-user-id="{revoked.user_id}"]')
            await link_entry.get_by_test_id("revoke-button").click()
            await expect(page.get_by_test_id("confirm-dialog")).to_contain_text("no longer admits anyone")
            await page.screenshot(path=str(output / "host-panel-revoke.png"))
            await page.get_by_test_id("confirm-accept").click()
            await until(lambda: revoked.ended is not None, 10, "the revocation")
            assert revoked.ended is not None and revoked.ended.code == ErrorCode.INVITATION_REVOKED
            await expect(link_entry).to_have_count(0, timeout=10_000)
            await expect(
                page.locator(f'[data-testid="tile"][data-user-id="{revoked.user_id}"]')
            ).to_have_count(0)
            assert not again.admitted.is_set()
        finally:
            await again.close()
    with pytest.raises(JoinError) as refused:
        await join(ParleyClient(revoked_link, ["Delegate B"]), "Delegation B")
    assert refused.value.code == "invitation_revoked"
