"""Delegation-certified identities in the browser: enrollment, a verified call, a reload that comes
back certified, and an uncertified member caught by the browser itself.

Real Chromium with davey in its worker, the real server and Janus. The officers are small consoles
in the test (tests/officers.py) that hold real delegation keys and speak the real protocol: they
prove their key, publish their pin set, and approve what the browsers ask. The hostile server is
the real one, patched in-process as tests/hostile.py does: it lets a device into the key group
without a certificate. What is checked is what a person sees (the code on the screen, "All 2
members certified", the alarm naming the member; screenshots in test-output/) and what leaves the
browser, observed at Janus.
"""

from __future__ import annotations

import asyncio
import re
import time
from pathlib import Path

import pytest
from browsers import Browsers, decodes, join_in_browser, state, wait_until
from calls import janus_spy, joined, summit_links, until
from hostile import room_of
from officers import Delegation, OfficerConsole, certified_link, delegation, officer_console
from playwright.async_api import Page, expect

from parley.sdk.client import ParleyClient
from parley.server.attendee import Attendee
from parley.server.runtime import ParleyServer
from parley.summit.model import Role

pytestmark = pytest.mark.anyio

# How soon an uncertified member must be named, after this device entered the epoch that holds it.
ALARM_BOUND_S = 2.0
# Long enough for dozens of audio and video frames, were any sent.
QUIET_S = 3.0
# The enrollment code as the device shows it: 20 digits in groups of five.
CODE = re.compile(r"^\d{5} \d{5} \d{5} \d{5}$")


def pinned_summit(
    parley: ParleyServer, a: Delegation, b: Delegation, invites: list[tuple[str, Role]]
) -> list[str]:
    pins = {a.name: a.fingerprint.digits, b.name: b.fingerprint.digits}
    return summit_links(parley, invites, pins=pins)


async def enroll(
    page: Page, link: str, names: list[str], officer: OfficerConsole, screenshot: Path | None = None
) -> str:
    """Join, show the code, have the officer approve the request whose code it is (as an officer
    compares the code on the device's screen with the one received); returns the user id."""
    user_id = await join_in_browser(page, link, names)
    code = page.get_by_test_id("enrollment-code")
    await expect(code).to_have_text(CODE, timeout=15_000)
    await expect(page.get_by_test_id("enrollment-screen")).to_contain_text(
        "Show this code to your security officer"
    )
    if screenshot is not None:
        await page.screenshot(path=str(screenshot))
    shown = await code.text_content()
    request = await officer.approve_next()
    assert request.code == shown
    assert request.claim.user_id == int(user_id)
    await wait_until(lambda: _certified_and_in(page), 30, "the browser to take its certificate and go in")
    return user_id


async def _certified_and_in(page: Page) -> bool:
    s = await state(page)
    return bool(s["admitted"] and s["identity"] and s["identity"]["certified"])


async def _all_certified(page: Page, count: int) -> bool:
    s = await state(page)
    return bool(s["identity"] and s["identity"]["summary"] == f"all {count} members certified")


async def test_officers_enroll_two_browsers_the_call_is_all_certified_and_a_reload_comes_back_certified(
    parley: ParleyServer, browsers: Browsers, output: Path
) -> None:
    a, b = delegation("Delegation A"), delegation("Delegation B")
    links = pinned_summit(
        parley,
        a,
        b,
        [
            ("Delegation A", Role.PRINCIPAL),
            ("Delegation B", Role.PRINCIPAL),
            ("Delegation A", Role.DELEGATE),
            ("Delegation B", Role.DELEGATE),
        ],
    )
    pinned = {a.name: a.fingerprint, b.name: b.fingerprint}
    async with (
        officer_console(links[2], a, pinned) as officer_a,
        officer_console(links[3], b, pinned) as officer_b,
    ):
        page_a = await browsers.page("certified-a")
        page_b = await browsers.page("certified-b")
        link_a = certified_link(links[0], a)
        user_a = await enroll(page_a, link_a, ["Principal A"], officer_a, output / "enrollment-code.png")
        user_b = await enroll(page_b, certified_link(links[1], b), ["Principal B"], officer_b)

        for page in (page_a, page_b):
            await wait_until(lambda page=page: _all_certified(page, 2), 30, "all 2 members certified")
            await expect(page.get_by_test_id("identity-state")).to_have_text("All 2 members certified")
        await wait_until(lambda: decodes(page_a, user_b), 40, "browser A to decode browser B")
        await wait_until(lambda: decodes(page_b, user_a), 40, "browser B to decode browser A")
        tile = page_a.locator(f'[data-testid="tile"][data-user-id="{user_b}"]')
        await expect(tile.get_by_test_id("tile-verification")).to_have_text(
            "Certified by Delegation B (pinned)"
        )
        own = page_a.locator(f'[data-testid="tile"][data-user-id="{user_a}"]')
        await expect(own.get_by_test_id("tile-verification")).to_have_text(
            "Certified by Delegation A (pinned)"
        )
        assert (await state(page_a))["alarms"] == []
        await page_a.screenshot(path=str(output / "certified-call.png"))

        # A new visit (a new tab of the same profile, the same link) presents the kept
        # certificate: no enrollment request, straight back in, every member certified again.
        context = page_a.context
        await page_a.close()
        page_a = await context.new_page()
        await join_in_browser(page_a, link_a, ["Principal A"])
        await wait_until(lambda: _certified_and_in(page_a), 30, "the reloaded browser to come back certified")
        await wait_until(lambda: _all_certified(page_a, 2), 30, "all 2 members certified after the reload")
        again = await state(page_a)
        assert again["identity"]["enrollments"] == 0
        assert again["userId"] == user_a
        assert officer_a.requests.empty()
        await wait_until(lambda: decodes(page_b, user_a), 40, "browser B to decode the reloaded browser A")


async def test_a_member_let_in_without_a_certificate_is_named_within_2_s_and_the_browser_sends_nothing(
    parley: ParleyServer, browsers: Browsers, output: Path
) -> None:
    a, b = delegation("Delegation A"), delegation("Delegation B")
    links = pinned_summit(
        parley,
        a,
        b,
        [("Delegation A", Role.PRINCIPAL), ("Delegation B", Role.PRINCIPAL), ("Delegation A", Role.DELEGATE)],
    )
    pinned = {a.name: a.fingerprint, b.name: b.fingerprint}
    async with officer_console(links[2], a, pinned) as officer_a:
        # The hostile server: Delegation B's devices go into the key group with no certificate.
        room = room_of(parley, officer_a.summit_id)
        honest = room.policy.identity.certified

        def certified(device: Attendee, now: float) -> bool:
            return device.delegation.name == b.name or honest(device, now)

        room.policy.identity.certified = certified  # type: ignore[method-assign]
        async with joined(links[1], "B1") as ghost:
            page = await browsers.page("uncertified")
            browser = int(await enroll(page, certified_link(links[0], a), ["Principal A"], officer_a))
            # The browser joins the ghost's group by a welcome: from the moment the ghost's group
            # holds it, the browser has at most ALARM_BOUND_S to name the ghost.
            await until(
                lambda: ghost.member is not None and browser in ghost.member.roster, 30, "the welcome"
            )
            entered = time.monotonic()
            await wait_until(lambda: _uncertified_named(page, ghost.user_id), 10, "the uncertified alarm")
            assert time.monotonic() - entered < ALARM_BOUND_S + 0.25  # plus one poll of this loop
            assert (await state(page))["held"]
            banner = page.get_by_test_id("encryption-alarm")
            await expect(banner).to_contain_text(str(ghost.user_id))
            await expect(banner).to_contain_text("has no certificate")
            tile = page.locator(f'[data-testid="tile"][data-user-id="{ghost.user_id}"]')
            await expect(tile.get_by_test_id("tile-verification")).to_have_text("Not certified")
            await expect(page.get_by_test_id("identity-state")).to_have_text("1 of 2 members not certified")
            await page.screenshot(path=str(output / "uncertified-member-alarm.png"))
            # What leaves the browser, at Janus: not one frame while the ghost is in its group.
            await until(lambda: _publishing(ghost, browser), 30, "the browser's feed at Janus")
            async with janus_spy(parley, ghost.summit.channel_id, browser) as spied:
                await asyncio.sleep(QUIET_S)
                assert spied.forwarded == [], f"{len(spied.forwarded)} frames of the browser reached Janus"
            assert (
                ghost.feeds.get(browser) is None
                or sum(s.decrypted for s in ghost.feeds[browser].stats.values()) == 0
            )


async def _uncertified_named(page: Page, user_id: int) -> bool:
    """The alarm names the member, and the epoch check's verdict says why."""
    s = await state(page)
    verdict = {"userId": str(user_id), "delegation": None, "problem": "no_certificate"}
    named = {"reason": "uncertified", "userId": str(user_id)} in s["alarms"]
    return named and s["identity"] is not None and verdict in s["identity"]["verdicts"]


def _publishing(client: ParleyClient, user_id: int) -> bool:
    device = client.roster.get(user_id)
    return device is not None and device.publishing


async def test_a_revocation_ends_the_browsers_stay_within_2_s_and_its_next_visit_enrolls_again(
    parley: ParleyServer, browsers: Browsers
) -> None:
    a, b = delegation("Delegation A"), delegation("Delegation B")
    links = pinned_summit(parley, a, b, [("Delegation A", Role.PRINCIPAL), ("Delegation A", Role.DELEGATE)])
    async with officer_console(links[1], a, {a.name: a.fingerprint, b.name: b.fingerprint}) as officer:
        page = await browsers.page("revoked")
        link = certified_link(links[0], a)
        user_id = int(await enroll(page, link, ["Principal A"], officer))
        revoked = time.monotonic()
        await officer.revoke(user_id)
        await wait_until(lambda: _ended(page, "certificate_revoked"), 10, "the stay to end")
        assert time.monotonic() - revoked < ALARM_BOUND_S + 0.25  # plus one poll of this loop
        await expect(page.get_by_test_id("final-screen")).to_have_attribute(
            "data-reason", "certificate_revoked"
        )

        # The next visit presents the certificate it kept; the server refuses it (revoked), and the
        # browser forgets it and asks its officer again, showing a new code.
        context = page.context
        await page.close()
        page = await context.new_page()
        assert await enroll(page, link, ["Principal A"], officer) == str(user_id)
        assert (await state(page))["identity"]["enrollments"] == 1


async def _ended(page: Page, code: str) -> bool:
    return bool((await state(page))["ended"] == code)
