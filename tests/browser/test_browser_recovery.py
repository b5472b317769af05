"""Browsers keep each other's picture through key changes on a long-distance network.

The test builds its own network whatever `--wan` says (on the profile `--wan` names, else
`transcontinental`): browsers of delegations A and B, each in its office behind a NAT router, and
an SDK device of B that leaves (a key rotation) and joins again (another). Each time, the browsers'
pictures of each other must not stop for 2 s: senders make a key frame under each new key, and a
receiver whose frames stop decrypting asks for one (web/src/e2ee/keyFrames.ts).
"""

from __future__ import annotations

import asyncio
from functools import partial
from pathlib import Path

import pytest
from browsers import Browsers, decodes, join_in_browser, wait_until
from calls import THREE_DEVICES, joined, local_server, summit_links
from playwright.async_api import Page
from wan import devices
from wan.profiles import Profile, named
from wan.topology import SERVER_ADDRESS, Wan

pytestmark = pytest.mark.anyio

LONGEST_STALL_S = 2.0
WATCH_S = 6.0  # from the event until the key change has surely passed everywhere
SETTLED_S = 1.5
SMOOTH_S = 0.5


# The browser itself times its pictures: a callback on every frame each tile's <video> presents
# keeps the longest gap between two, so no slowness of this test process can lengthen a stall.
WATCH = """(id) => {
  const pictures = (window.pictures ??= {});
  const video = document.querySelector(`[data-testid="tile"][data-user-id="${id}"] video`);
  const entry = (pictures[id] = { last: performance.now(), longest: 0 });
  const tick = () => {
    const now = performance.now();
    entry.longest = Math.max(entry.longest, now - entry.last);
    entry.last = now;
    video.requestVideoFrameCallback(tick);
  };
  video.requestVideoFrameCallback(tick);
}"""
RESTART = "(id) => { window.pictures[id].longest = 0; }"
LONGEST = """(id) => {
  const entry = window.pictures[id];
  return Math.max(entry.longest, performance.now() - entry.last) / 1000;
}"""


async def watch(watched: list[tuple[Page, str]]) -> None:
    for page, other in watched:
        await page.evaluate(WATCH, other)


async def longest_stall(watched: list[tuple[Page, str]], seconds: float) -> float:
    """From now, over `seconds`, the longest any watched picture stood still (a picture still
    standing at the end counts up to then)."""
    for page, other in watched:
        await page.evaluate(RESTART, other)
    await asyncio.sleep(seconds)
    return max([float(await page.evaluate(LONGEST, other)) for page, other in watched])


async def settled(watched: list[tuple[Page, str]]) -> None:
    """Wait until every watched picture has moved smoothly for a while: the call's own start (its
    first key changes, the encoders' ramp) is over, so a stall measured next is the event's."""

    async def smooth() -> bool:
        return await longest_stall(watched, SETTLED_S) < SMOOTH_S

    await wait_until(smooth, 40, "the call to settle")


async def test_browsers_keep_each_others_picture_through_a_leave_and_a_rejoin(
    tmp_path: Path, browsers: Browsers, wan_profile: Profile | None
) -> None:
    wan = Wan(wan_profile or named("transcontinental"), seed=14)
    try:
        with devices.offices(wan, ["Delegation A", "Delegation B"]):
            async with local_server(tmp_path / "parley", host=SERVER_ADDRESS) as server:
                links = summit_links(server, THREE_DEVICES)
                page_a = await browsers.page("a", delegation="Delegation A")
                page_b = await browsers.page("b", delegation="Delegation B")
                a = await join_in_browser(page_a, links[0], ["Principal A"])
                b = await join_in_browser(page_b, links[1], ["Principal B"])
                watched = [(page_a, b), (page_b, a)]
                async with joined(links[2], "B2") as sdk:
                    s = str(sdk.user_id)
                    for page, other in [*watched, (page_a, s), (page_b, s)]:
                        await wait_until(partial(decodes, page, other), 60, f"{other} decoded")
                    await watch(watched)
                    await settled(watched)
                # B2 has left: the key group rotates without it.
                stall = await longest_stall(watched, WATCH_S)
                assert stall < LONGEST_STALL_S, f"a picture stopped for {stall:.1f} s after a leave"

                await settled(watched)
                async with joined(links[2], "B2") as again:
                    stall = await longest_stall(watched, WATCH_S)
                    assert stall < LONGEST_STALL_S, f"a picture stopped for {stall:.1f} s after a rejoin"
                    s = str(again.user_id)
                    for page in (page_a, page_b):
                        await wait_until(partial(decodes, page, s), 30, "the rejoined device decoded")
    finally:
        wan.close()
