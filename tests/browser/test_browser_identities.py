"""Delegation-certified identities in the browser: enrollment, a verified call, a reload that comes
back certified, and an uncertified member caught by the browser itself.

Real Chromium with davey in its worker, the real server and Janus. The officers are the SDK's
officer consoles (tests/certified.py), devices in the call that hold real delegation keys: they
prove their key, publish their pin set, and approve what the browsers ask. The hostile server is
the real one, patched in-process as tests/hostile.py does: it lets a device into the key group
without a certificate. What is checked is what a person sees (the code on the screen, "All 4
members certified", the alarm naming the member; screenshots in test-output/) and what leaves the
browser, observed at Janus.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
from browsers import Browsers, decodes, join_in_browser, state, wait_until
from calls import janus_spy, joined, publishing, until
from certified import certified_summit, closing, officer_console
from certified_browsers import all_certified, certified_and_in, enroll_in_browser
from playwright.async_api import Page, expect

from parley.server.attendee import Attendee
from parley.server.runtime import ParleyServer

pytestmark = pytest.mark.anyio

# How soon an uncertified member must be named, after this device entered the epoch that holds it.
ALARM_BOUND_S = 2.0
# Long enough for dozens of audio and video frames, were any sent.
QUIET_S = 3.0


async def test_officers_enroll_two_browsers_the_call_is_all_certified_and_a_reload_comes_back_certified(
    parley: ParleyServer, browsers: Browsers, output: Path, tmp_path: Path
) -> None:
    async with closing(certified_summit(parley, tmp_path / "devices")) as summit:
        officer_a = await officer_console(summit, "Delegation A", "Officer A", None)
        officer_b = await officer_console(summit, "Delegation B", "Officer B", None)
        page_a = await browsers.page("certified-a")
        page_b = await browsers.page("certified-b")
        link_a = summit.browser_link("Delegation A")
        user_a = await enroll_in_browser(
            page_a, link_a, ["Principal A"], officer_a, output / "enrollment-code.png"
        )
        user_b = await enroll_in_browser(
            page_b, summit.browser_link("Delegation B"), ["Principal B"], officer_b
        )

        for page in (page_a, page_b):
            await wait_until(lambda page=page: all_certified(page, 4), 30, "all 4 members certified")
            await expect(page.get_by_test_id("identity-state")).to_have_text("All 4 members certified")
        await wait_until(lambda: decodes(page_a, str(user_b)), 40, "browser A to decode browser B")
        await wait_until(lambda: decodes(page_b, str(user_a)), 40, "browser B to decode browser A")
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
        assert officer_a.console is not None
        issued = len(officer_a.console.issued)
        context = page_a.context
        await page_a.close()
        page_a = await context.new_page()
        await join_in_browser(page_a, link_a, ["Principal A"])
        await wait_until(lambda: certified_and_in(page_a), 30, "the reloaded browser to come back certified")
        await wait_until(lambda: all_certified(page_a, 4), 30, "all 4 members certified after the reload")
        again = await state(page_a)
        assert again["identity"]["enrollments"] == 0
        assert again["userId"] == str(user_a)
        assert officer_a.console.waiting == [] and len(officer_a.console.issued) == issued
        await wait_until(
            lambda: decodes(page_b, str(user_a)), 40, "browser B to decode the reloaded browser A"
        )


async def test_a_member_let_in_without_a_certificate_is_named_within_2_s_and_the_browser_sends_nothing(
    parley: ParleyServer, browsers: Browsers, output: Path, tmp_path: Path
) -> None:
    async with closing(certified_summit(parley, tmp_path / "devices")) as summit:
        # The hostile server: Delegation B's devices go into the key group with no certificate.
        room = await parley.state.room(summit.summit)
        honest = room.policy.identity.certified

        def certified(device: Attendee, now: float) -> bool:
            return device.delegation.name == "Delegation B" or honest(device, now)

        room.policy.identity.certified = certified  # type: ignore[method-assign]
        # The ghost first: it makes the key group, and commits whoever comes next (a certified
        # member would not commit the ghost).
        async with joined(summit.link("Delegation B"), "B1") as ghost:
            officer_a = await officer_console(summit, "Delegation A", "Officer A", None)
            page = await browsers.page("uncertified")
            browser = await enroll_in_browser(
                page, summit.browser_link("Delegation A"), ["Principal A"], officer_a
            )
            # The browser joins the ghost's group by a welcome: from the moment the ghost's group
            # holds it, the browser has at most ALARM_BOUND_S to name the ghost.
            await until(
                lambda: ghost.member is not None and browser in ghost.member.roster, 30, "the welcome"
            )
            entered = time.monotonic()
            await wait_until(lambda: _alarm_names(page, ghost.user_id), 10, "the uncertified alarm")
            assert time.monotonic() - entered < ALARM_BOUND_S + 0.25  # plus one poll of this loop
            await wait_until(lambda: _verdict_says_why(page, ghost.user_id), 10, "the epoch check's verdict")
            assert (await state(page))["held"]
            banner = page.get_by_test_id("encryption-alarm")
            await expect(banner).to_contain_text(str(ghost.user_id))
            await expect(banner).to_contain_text("has no certificate")
            tile = page.locator(f'[data-testid="tile"][data-user-id="{ghost.user_id}"]')
            await expect(tile.get_by_test_id("tile-verification")).to_have_text("Not certified")
            await expect(page.get_by_test_id("identity-state")).to_have_text("1 of 3 members not certified")
            await page.screenshot(path=str(output / "uncertified-member-alarm.png"))
            # What leaves the browser, at Janus: not one frame while the ghost is in its group.
            await until(lambda: publishing(ghost, browser), 30, "the browser's feed at Janus")
            async with janus_spy(parley, ghost.summit.channel_id, browser) as spied:
                await asyncio.sleep(QUIET_S)
                assert spied.forwarded == [], f"{len(spied.forwarded)} frames of the browser reached Janus"
            assert (
                ghost.feeds.get(browser) is None
                or sum(s.decrypted for s in ghost.feeds[browser].stats.values()) == 0
            )


async def _alarm_names(page: Page, user_id: int) -> bool:
    return {"reason": "uncertified", "userId": str(user_id)} in (await state(page))["alarms"]


async def _verdict_says_why(page: Page, user_id: int) -> bool:
    """The epoch check's verdict (after the others' leaf keys are proven) says why."""
    identity = (await state(page))["identity"]
    verdict = {"userId": str(user_id), "delegation": None, "problem": "no_certificate"}
    return identity is not None and verdict in identity["verdicts"]


async def test_a_revocation_ends_the_browsers_stay_within_2_s_and_its_next_visit_enrolls_again(
    parley: ParleyServer, browsers: Browsers, tmp_path: Path
) -> None:
    async with closing(certified_summit(parley, tmp_path / "devices")) as summit:
        officer = await officer_console(summit, "Delegation A", "Officer A", None)
        assert officer.console is not None
        page = await browsers.page("revoked")
        link = summit.browser_link("Delegation A")
        user_id = await enroll_in_browser(page, link, ["Principal A"], officer)
        (serial,) = [c.serial for c in officer.console.issued if c.claim.user_id == user_id]
        revoked = time.monotonic()
        await officer.revoke_certificates([serial])
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
        assert await enroll_in_browser(page, link, ["Principal A"], officer) == user_id
        assert (await state(page))["identity"]["enrollments"] == 1


async def _ended(page: Page, code: str) -> bool:
    return bool((await state(page))["ended"] == code)
