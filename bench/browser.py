"""The browser client's costs: Debian's Chromium in a real call, on loopback in a network namespace.

Run: scripts/netns .venv/bin/python bench/browser.py [--seconds S]

Prints one figure a line:
- join to first decoded remote frame: from clicking Join to the first video frame the browser
  decodes from a device already publishing (an SDK device), median of a few joins;
- the same for a returning browser (a profile that joined once before), plain and in a certified
  summit (docs/identity.md: its delegation's SDK officer console publishing; the browser enrolled
  at its first visit, then timed as it comes back with its kept certificate, the officer's
  approval being a person's time), and the difference: what certificates, the epoch check and the
  attestations add to a browser's join;
- per-frame encrypt and decrypt cost in the transform worker (davey, WebAssembly), as the page
  measures it around each call: mean and worst, over a call of S seconds between two browsers;
- browser CPU with E2EE against the same two-browser call with the transforms not attached (a
  benchmark switch the server allows only with test hooks on): CPU seconds of both Chromium
  process trees per second of call, and the ratio. Both calls run in this one run.

Chromium runs at 320x240, 15 fps (`testSmallVideo`), as in the tests.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from playwright.async_api import Page, async_playwright

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from browsers import Browsers
from calls import local_server, summit_links
from certified import certified_summit, closing, officer_console
from certified_browsers import enroll_in_browser

from parley.media.sources import PatternVideoTrack, ToneAudioTrack
from parley.sdk.client import ParleyClient
from parley.server.runtime import ParleyServer
from parley.summit.model import Role

TICKS = os.sysconf("SC_CLK_TCK")


def with_query(link: str, query: str) -> str:
    path, _, fragment = link.partition("#")
    return f"{path}?{query}#{fragment}"


async def state(page: Page) -> dict[str, Any]:
    result: dict[str, Any] = await page.evaluate("window.parley.state()")
    return result


async def join(page: Page, link: str, name: str) -> float:
    """Open the link and join; returns the time Join was clicked (perf_counter)."""
    await page.goto(link)
    await page.get_by_test_id("name-input").first.fill(name)
    clicked = time.perf_counter()
    await page.get_by_test_id("join-button").click()
    return clicked


async def first_frame(page: Page, sender: str, timeout: float = 30) -> float:
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        peer = (await state(page))["peers"].get(sender)
        if peer and peer["framesDecoded"] > 0:
            return time.perf_counter()
        await asyncio.sleep(0.02)
    raise TimeoutError("no decoded frame")


def cpu_seconds(profile: Path) -> float:
    """User+system CPU of every Chromium process started with this profile."""
    total = 0
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
            if str(profile).encode() not in cmdline:
                continue
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / TICKS


async def timed_join(
    browsers: Browsers,
    tag: str,
    link: str,
    sender: int,
    first_visit: Callable[[Page], Awaitable[object]] | None = None,
) -> float:
    """A new profile joins (after `first_visit`, in a new tab of it: a returning browser):
    seconds from clicking Join to the first frame it decodes from `sender`."""
    page = await browsers.page(tag)
    context = page.context
    if first_visit is not None:
        await first_visit(page)
        await page.close()
        page = await context.new_page()
    clicked = await join(page, link, "Principal B")
    took = await first_frame(page, str(sender)) - clicked
    await context.close()
    browsers.contexts.remove(context)
    return took


async def join_times(server: ParleyServer, browsers: Browsers, joins: int, returning: bool) -> list[float]:
    """Browsers joining a summit where an SDK device publishes: new profiles, or returning ones."""
    links = summit_links(
        server, [("Delegation A", Role.PRINCIPAL)] + [("Delegation B", Role.PRINCIPAL)] * joins
    )
    sdk = ParleyClient(links[0], ["Principal A"], audio=ToneAudioTrack(440.0), video=PatternVideoTrack(3))
    await sdk.join()
    try:
        times = []
        for index, invitation in enumerate(links[1:]):
            link = with_query(invitation, "testSmallVideo=1")

            async def visit(page: Page, link: str = link) -> None:
                await join(page, link, "Principal B")
                await first_frame(page, str(sdk.user_id))

            tag = f"{'returning' if returning else 'joiner'}-{index}"
            times.append(await timed_join(browsers, tag, link, sdk.user_id, visit if returning else None))
        return times
    finally:
        await sdk.close()


async def certified_join_times(
    server: ParleyServer, browsers: Browsers, joins: int, folder: Path
) -> list[float]:
    async with closing(certified_summit(server, folder)) as summit:
        # One other member, as in the plain summit: the officer's console, publishing, which
        # enrolls the browser (its pin set names B's key too; B's officer need not be there).
        publisher = await officer_console(summit, "Delegation A", "Officer A", 3)
        times = []
        for index in range(joins):
            link = with_query(summit.browser_link("Delegation A"), "testSmallVideo=1")

            async def enroll(page: Page, link: str = link) -> int:
                return await enroll_in_browser(page, link, ["Principal B"], publisher)

            times.append(await timed_join(browsers, f"certified-{index}", link, publisher.user_id, enroll))
        return times


async def two_browser_call(
    server: ParleyServer, browsers: Browsers, seconds: float, query: str, tag: str
) -> tuple[float, dict[str, Any]]:
    """CPU seconds per call second of both browsers, and the first browser's frame costs."""
    links = summit_links(server, [("Delegation A", Role.PRINCIPAL), ("Delegation B", Role.PRINCIPAL)])
    pages = [await browsers.page(f"{tag}-{i}") for i in range(2)]
    for page, link, name in zip(pages, links, ("Principal A", "Principal B"), strict=True):
        await join(page, with_query(link, query), name)
    deadline = time.perf_counter() + 40
    while not all(ids := [(await state(p))["userId"] for p in pages]):
        if time.perf_counter() > deadline:
            raise TimeoutError("the browsers were not admitted")
        await asyncio.sleep(0.1)
    await first_frame(pages[0], ids[1])
    await first_frame(pages[1], ids[0])
    await asyncio.sleep(2)  # past the first key frames and any key change
    profiles = [browsers.root / f"{tag}-{i}" for i in range(2)]
    before = sum(map(cpu_seconds, profiles))
    await asyncio.sleep(seconds)
    used = sum(map(cpu_seconds, profiles)) - before
    cost: dict[str, Any] = await pages[0].evaluate("window.parley.frameCost()") or {}
    for page in pages:
        await page.context.close()
        browsers.contexts.remove(page.context)
    return used / seconds, cost


def cost_line(name: str, cost: dict[str, Any]) -> str:
    """From the page's totals (`window.parley.frameCost()`: encryptFrames, encryptMs, ...)."""
    frames, total, worst = (
        cost.get(f"{name}Frames", 0),
        cost.get(f"{name}Ms", 0.0),
        cost.get(f"{name}MaxMs", 0.0),
    )
    if not frames:
        return f"{name} in the worker: no frames measured"
    return f"{name} in the worker: {total / frames:.3f} ms a frame (worst {worst:.1f} ms, {frames} frames)"


async def main(seconds: float, joins: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        async with local_server(Path(tmp) / "parley", test_hooks=True) as server, async_playwright() as pw:
            browsers = Browsers(pw, Path(tmp) / "profiles")
            try:
                times = await join_times(server, browsers, joins, returning=False)
                median_ms = statistics.median(times) * 1000
                print(f"join click to first decoded remote frame: {median_ms:.0f} ms (median of {joins})")
                plain_ms = statistics.median(await join_times(server, browsers, joins, returning=True)) * 1000
                certified_ms = (
                    statistics.median(
                        await certified_join_times(server, browsers, joins, Path(tmp) / "devices")
                    )
                    * 1000
                )
                print(f"the same, a returning browser: {plain_ms:.0f} ms (median of {joins})")
                print(
                    f"the same, certified (its kept certificate): {certified_ms:.0f} ms (median of {joins})"
                )
                print(f"join time certificates add: {certified_ms - plain_ms:.0f} ms")
                small = "testSmallVideo=1"
                with_e2ee, cost = await two_browser_call(server, browsers, seconds, small, "e2ee")
                print(cost_line("encrypt", cost))
                print(cost_line("decrypt", cost))
                plain, _ = await two_browser_call(
                    server, browsers, seconds, f"{small}&testNoTransform=1", "plain"
                )
                print(f"browser CPU, two browsers, with E2EE: {with_e2ee:.2f} s/s")
                print(f"browser CPU, two browsers, transforms off: {plain:.2f} s/s")
                print(f"browser CPU ratio with/without E2EE: {with_e2ee / plain:.2f}")
            finally:
                await browsers.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--seconds", type=float, default=15.0, help="length of each measured call")
    parser.add_argument("--joins", type=int, default=3, help="joins to time (median)")
    args = parser.parse_args()
    asyncio.run(main(args.seconds, args.joins))
