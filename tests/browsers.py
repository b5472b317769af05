"""Chromium for browser tests and benchmarks: Debian's build, one fresh profile per participant,
fake camera and microphone, driven by Playwright.

On a WAN run (`--wan`), a browser of a delegation that has an office on the WAN runs inside that
office's LAN namespace: Chromium is started through a small script that `nsenter`s the namespace
and execs it. Playwright drives Chromium over a pipe (inherited file descriptors), not over the
network, so control is unaffected while every WebSocket and WebRTC packet of the browser crosses
the office's NAT router and impairer, as an SDK device's do (`wan.devices`).
"""

from __future__ import annotations

import asyncio
import time
import wave
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from playwright.async_api import BrowserContext, Page, Playwright, expect
from wan import devices
from wan.topology import Site

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

    async def page(self, name: str, args: Sequence[str] = (), *, delegation: str | None = None) -> Page:
        """A new Chromium with its own profile; `args`: extra flags (a fake microphone file, say).

        `delegation`: whose device it is; on a WAN run that delegation has an office, and the
        browser runs in it (else it stays in the run's namespace, beside the server)."""
        site = devices.office(delegation) if delegation else None
        context = await self.playwright.chromium.launch_persistent_context(
            str(self.root / name),
            executable_path=CHROMIUM if site is None else self._inside(site),
            headless=True,
            args=[*FLAGS, *args],
            viewport={"width": 1280, "height": 800},
        )
        self.contexts.append(context)
        return context.pages[0] if context.pages else await context.new_page()

    def _inside(self, site: Site) -> str:
        """A launcher that starts Chromium in the site's devices' namespace (file descriptors, the
        Playwright pipe among them, pass through nsenter and exec untouched)."""
        launcher = self.root / f"chromium-in-site-{site.number}"
        if not launcher.exists():
            launcher.parent.mkdir(parents=True, exist_ok=True)
            launcher.write_text(f'#!/bin/sh\nexec nsenter --net={site.devices.path} {CHROMIUM} "$@"\n')
            launcher.chmod(0o755)
        return str(launcher)

    async def close(self) -> None:
        for context in self.contexts:
            await context.close()


def tone_wav(path: Path, frequency_hz: float, seconds: int = 10, sample_rate: int = 48000) -> Path:
    """A mono 16-bit sine tone for `--use-file-for-fake-audio-capture` (Chromium loops it; whole
    seconds of a whole-Hz tone loop without a click)."""
    n = np.arange(seconds * sample_rate)
    pcm = np.round(0.5 * np.sin(2 * np.pi * frequency_hz * n / sample_rate) * 32767).astype("<i2")
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(sample_rate)
        out.writeframes(pcm.tobytes())
    return path


def fake_microphone(wav: Path) -> list[str]:
    """Chromium flags: the fake microphone plays `wav` instead of its beep."""
    return [f"--use-file-for-fake-audio-capture={wav}"]


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
