"""Simultaneous interpretation in the browser: a listener choosing a channel, an interpreter's console.

Real Chromium, the real server and Janus, SDK devices for the floor, the other interpreters and
the other listeners. What is checked is what a person hears: the browser analyses the very mix
its speakers play (`ear` in `window.parley.state()`, an AnalyserNode on the master gain), and an
SDK listener finds the browser interpreter's tone in what it decodes. Tones: the floor 440 Hz,
an SDK interpreter 1000 or 880 Hz, the browser interpreter's fake microphone 660 Hz.

Every browser and SDK device says its delegation, so on a WAN run (`--wan`) each is in its
delegation's office, behind the NAT router and the impairer (docs/testing-wan.md).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from browsers import Browsers, decodes, fake_microphone, join_in_browser, state, tone_wav, wait_until
from calls import join, joined, publishing, summit_links, until
from playwright.async_api import Page, expect

from parley.media.sources import ToneAudioTrack, dominant_frequency, samples_of
from parley.sdk.client import ParleyClient
from parley.server.runtime import ParleyServer
from parley.summit.model import DEFAULT_DUCKING, Role

pytestmark = pytest.mark.anyio

FLOOR_HZ = 440.0  # `joined(..., "A")`: Delegation A's principal speaks a 440 Hz tone
TOLERANCE_HZ = 15.0  # the ear's bins are 5.9 Hz wide; a tone is found within a bin or two


async def hearing(page: Page, hz: float) -> bool:
    """The browser's mix is dominated by `hz` (and is not silence)."""
    ear = (await state(page))["ear"]
    return bool(ear) and ear["dominantHz"] is not None and abs(ear["dominantHz"] - hz) < TOLERANCE_HZ


async def booth(page: Page, language: str) -> dict[str, Any]:
    booths: dict[str, dict[str, Any]] = {b["language"]: b for b in (await state(page))["booths"]}
    return booths.get(language, {})


def received_hz(client: ParleyClient, feed: int) -> float | None:
    """The dominant frequency of the last second the SDK device decoded from `feed`."""
    remote = client.feeds.get(feed)
    frames = list(remote.audio)[-50:] if remote else []
    if len(frames) < 50:
        return None
    return dominant_frequency(samples_of(frames), frames[-1].sample_rate)


def live_in(client: ParleyClient, language: str) -> int | None:
    booth = client.booths.get(language)
    return booth.live if booth else None


async def test_a_browser_listener_hears_the_floor_then_the_russian_channel_and_keeps_the_choice(
    parley: ParleyServer, browsers: Browsers, output: Path
) -> None:
    links = summit_links(
        parley,
        [
            ("Delegation A", Role.PRINCIPAL),
            ("Delegation B", Role.INTERPRETER, "ru"),
            ("Delegation A", Role.DELEGATE),
        ],
    )
    async with joined(links[0], "A") as floor:
        interpreter = ParleyClient(links[1], ["Interpreter RU"], audio=ToneAudioTrack(1000.0))
        await join(interpreter, "Delegation B")
        try:
            page = await browsers.page("listener", delegation="Delegation A")
            me = await join_in_browser(page, links[2], ["Delegate A"])
            speaker, voice = str(floor.user_id), str(interpreter.user_id)
            # Delegation A works in English: the default is the en channel, whose booth is empty,
            # so the floor plays at full level.
            assert (await state(page))["channel"] == "en"
            indicator = page.get_by_test_id("channel-indicator")
            await expect(indicator).to_have_attribute("data-live", "false", timeout=10_000)
            await wait_until(lambda: decodes(page, speaker), 40, "the listener to see and hear the floor")
            await wait_until(lambda: hearing(page, FLOOR_HZ), 20, "the listener to hear the floor's 440 Hz")
            assert voice not in (await state(page))["gains"], "subscribed to another channel's interpreter"

            await until(lambda: publishing(floor, interpreter.user_id), 30, "the interpreter's audio")
            await interpreter.take_over()
            await wait_until(lambda: _live_in(page, "ru", voice), 10, "the browser to see the ru booth live")

            await page.get_by_test_id("channel-select").select_option("ru")
            await wait_until(lambda: hearing(page, 1000.0), 20, "the listener to hear the ru channel")
            gains = (await state(page))["gains"]
            assert gains[voice] == 1.0
            assert gains[speaker] == pytest.approx(DEFAULT_DUCKING)  # the floor, ducked under ru
            await expect(indicator).to_have_attribute("data-channel", "ru")
            await expect(indicator).to_have_attribute("data-live", "true")
            await expect(indicator).to_contain_text("interpreter live")
            await expect(page.get_by_test_id("encryption-indicator")).to_contain_text("End-to-end encrypted")
            await page.screenshot(path=str(output / "interpretation-listener.png"))

            # The interpreter has no tile but is in the key group and hears everything: its name
            # in "Also in the call" opens its pairwise code, as a tile does.
            entry = page.locator(f'[data-testid="also-in-call-entry"][data-user-id="{voice}"]')
            await expect(entry).to_contain_text("Russian")
            await entry.click()
            shown = page.get_by_test_id("pairwise-code")
            await expect(shown).to_have_text(await interpreter.pairwise_code(int(me)), timeout=15_000)
            await page.get_by_test_id("pairwise-close").click()

            await page.reload()  # a new device on the same link: the choice is the device's
            await join_in_browser(page, links[2], ["Delegate A"])
            assert (await state(page))["channel"] == "ru"
            await expect(page.get_by_test_id("channel-select")).to_have_value("ru", timeout=10_000)
            await wait_until(lambda: hearing(page, 1000.0), 40, "the reloaded listener to hear ru again")
        finally:
            await interpreter.close()


async def _live_in(page: Page, language: str, user_id: str) -> bool:
    return (await booth(page, language)).get("live") == user_id


async def test_an_interpreter_takes_over_from_the_browser_console_and_is_heard_on_its_channel(
    parley: ParleyServer, browsers: Browsers, output: Path, tmp_path: Path
) -> None:
    links = summit_links(
        parley,
        [
            ("Delegation A", Role.PRINCIPAL),
            ("Delegation B", Role.INTERPRETER, "en"),
            ("Delegation A", Role.INTERPRETER, "en"),
            ("Delegation B", Role.DELEGATE),
        ],
    )
    async with joined(links[0], "A") as floor:
        mate = ParleyClient(links[1], ["Booth mate EN"], audio=ToneAudioTrack(880.0))
        listener = ParleyClient(links[3], ["Delegate B"], listen="en")
        await join(mate, "Delegation B")
        await join(listener, "Delegation B")
        try:
            await until(lambda: publishing(floor, mate.user_id), 30, "the booth mate's audio to be up")
            await mate.take_over()
            await until(lambda: received_hz(listener, mate.user_id) is not None, 30, "the mate's voice")
            assert abs((received_hz(listener, mate.user_id) or 0) - 880.0) < TOLERANCE_HZ

            microphone = fake_microphone(tone_wav(tmp_path / "660.wav", 660.0))
            page = await browsers.page("interpreter", microphone, delegation="Delegation A")
            await page.goto(links[2])
            await expect(page.get_by_test_id("mic-only-note")).to_be_visible(timeout=15_000)
            assert await page.get_by_test_id("camera-select").count() == 0  # never asked for a camera
            me = await join_in_browser(page, links[2], ["Interpreter EN"])
            console = page.get_by_test_id("interpreter-console")
            await expect(console).to_be_visible(timeout=15_000)
            await expect(page.get_by_test_id("console-language")).to_have_attribute("data-language", "en")
            on_air = page.get_by_test_id("on-air")
            await expect(on_air).to_have_attribute("data-state", "off")
            members = page.get_by_test_id("booth-member")
            await expect(members).to_have_count(2, timeout=10_000)
            mate_row = page.locator(f'[data-testid="booth-member"][data-user-id="{mate.user_id}"]')
            await expect(mate_row).to_have_attribute("data-live", "true")
            take_over = page.get_by_test_id("take-over-button")
            status = page.get_by_test_id("booth-status")
            await expect(take_over).to_be_disabled()  # a booth mate is live and has not handed over
            await expect(status).to_have_attribute("data-state", "other_live")
            await expect(
                page.locator(f'[data-testid="also-in-call-entry"][data-user-id="{mate.user_id}"]')
            ).to_be_visible()
            await wait_until(lambda: hearing(page, FLOOR_HZ), 30, "the interpreter to hear the floor")
            gains = (await state(page))["gains"]
            assert gains == {str(floor.user_id): 1.0}, "an interpreter hears the floor, not its own channel"

            await mate.hand_over()
            await expect(mate_row).to_have_attribute("data-handing-over", "true", timeout=10_000)
            await expect(take_over).to_be_enabled()
            await expect(status).to_have_attribute("data-state", "other_handing_over")
            await wait_until(lambda: _publishing_in(page, me), 30, "the interpreter's microphone to be up")
            await take_over.click()
            await expect(on_air).to_have_attribute("data-state", "live", timeout=10_000)
            await expect(on_air).to_contain_text("ON AIR")
            self_row = page.locator(f'[data-testid="booth-member"][data-user-id="{me}"]')
            await expect(self_row).to_have_attribute("data-live", "true")
            await expect(mate_row).to_have_attribute("data-live", "false")
            await until(lambda: live_in(listener, "en") == int(me), 10, "the SDK to see it")
            try:
                await until(
                    lambda: abs((received_hz(listener, int(me)) or 0) - 660.0) < TOLERANCE_HZ,
                    30,
                    "the en listener to hear the browser interpreter's 660 Hz",
                )
            except AssertionError as e:  # say what the listener got, to tell keys from forwarding
                feed = listener.feeds.get(int(me))
                got = (feed.stats, feed.audio_frames, received_hz(listener, int(me))) if feed else None
                raise AssertionError(f"{e}; the listener's feed (stats, frames, Hz): {got}") from None
            await expect(page.get_by_test_id("interpreter-notice")).to_be_hidden()
            await expect(page.get_by_test_id("encryption-indicator")).to_contain_text("End-to-end encrypted")
            await expect(take_over).to_be_disabled()
            await expect(page.get_by_test_id("hand-over-button")).to_be_enabled()
            await page.screenshot(path=str(output / "interpretation-console.png"))
            # The whole console fits a 1280x800 window: nothing below the fold.
            for part in ("source-select", "mic-meter", "source-meter"):
                await expect(page.get_by_test_id(part)).to_be_in_viewport(ratio=1)

            # The cough key: the track goes silent here, the server marks the booth muted.
            await page.get_by_test_id("cough-button").click()
            await expect(on_air).to_have_attribute("data-state", "muted", timeout=10_000)
            assert (await state(page))["coughing"] is True
            await until(lambda: listener.booths["en"].muted, 10, "the booth muted for others")
            await page.get_by_test_id("cough-button").click()
            await expect(on_air).to_have_attribute("data-state", "live", timeout=10_000)

            # Relay: it may interpret from ru instead of the floor (never from its own en); then it
            # hears only ru, which nobody speaks into yet: silence, and the console says why.
            source = page.get_by_test_id("source-select")
            assert await source.locator("option").evaluate_all("os => os.map(o => o.value)") == ["", "ru"]
            await source.select_option("ru")
            await expect(page.get_by_test_id("source-warning")).to_be_visible()
            await wait_until(lambda: _silent(page), 10, "relay from an empty booth to be silence")
            assert (await state(page))["gains"] == {str(floor.user_id): 0}  # the floor's picture only

            # Hand over: still on air, Take over and Hand over both off, the console says it waits.
            await page.get_by_test_id("hand-over-button").click()
            await expect(on_air).to_have_attribute("data-state", "handing_over", timeout=10_000)
            await expect(status).to_contain_text("waiting for a booth mate to take over", ignore_case=True)
            await expect(page.get_by_test_id("hand-over-button")).to_be_disabled()
            await expect(take_over).to_be_disabled()
        finally:
            await listener.close()
            await mate.close()


async def _silent(page: Page) -> bool:
    ear = (await state(page))["ear"]
    return bool(ear) and ear["dominantHz"] is None


async def _publishing_in(page: Page, user_id: str) -> bool:
    return any(p["userId"] == user_id and p["publishing"] for p in (await state(page))["roster"])
