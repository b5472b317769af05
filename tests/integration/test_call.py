"""The secure call end to end: `parley serve` with its own Janus, SDK clients of two delegations.

Nothing is mocked: real Janus forwarding real aiortc media, real DAVE (dave.py) keys, the
server's real signalling. Each test proves what a participant would check: the other devices'
video decodes to their pattern, their tone arrives, every screen shows the same code.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta

import pytest

from parley.media.sources import (
    PatternVideoTrack,
    ToneAudioTrack,
    dominant_frequency,
    read_pattern,
    samples_of,
)
from parley.sdk.client import ParleyClient, RemoteFeed
from parley.server.runtime import ParleyServer
from parley.summit.model import Role

pytestmark = pytest.mark.anyio

PATTERNS = {"A": 3, "B1": 5, "B2": 9}
TONES = {"A": 440.0, "B1": 660.0, "B2": 880.0}
THREE_DEVICES = [
    ("Delegation A", Role.PRINCIPAL),
    ("Delegation B", Role.PRINCIPAL),
    ("Delegation B", Role.DELEGATE),
]


def summit_links(server: ParleyServer, invites: list[tuple[str, Role]]) -> list[str]:
    store = server.store
    summit = store.create_summit(
        "Integration summit", datetime.now(UTC), 120, [("Delegation A", "en"), ("Delegation B", "ru")]
    )
    by_name = {d.name: d for d in summit.delegations}
    return [
        server.state.organiser.invite(summit, by_name[name].delegation_id, role, timedelta(hours=1))[1]
        for name, role in invites
    ]


async def until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        await asyncio.sleep(0.1)


def receiving(feed: RemoteFeed | None, pattern: int, frames: int = 10) -> bool:
    """Enough decoded video from the feed, the latest frames showing its pattern, and audio."""
    if feed is None or feed.video_frames < frames or feed.audio_frames < 25:
        return False
    return all(read_pattern(f) == pattern for f in list(feed.video)[-3:])


@contextlib.asynccontextmanager
async def joined(link: str, name: str) -> AsyncIterator[ParleyClient]:
    client = ParleyClient(
        link, [name], audio=ToneAudioTrack(TONES[name]), video=PatternVideoTrack(PATTERNS[name])
    )
    await client.join()
    try:
        yield client
    finally:
        await client.close()


async def test_three_devices_of_two_delegations_see_and_hear_each_other_with_one_code(
    parley: ParleyServer,
) -> None:
    links = summit_links(
        parley,
        [("Delegation A", Role.PRINCIPAL), ("Delegation B", Role.PRINCIPAL), ("Delegation B", Role.DELEGATE)],
    )
    async with joined(links[0], "A") as a, joined(links[1], "B1") as b1, joined(links[2], "B2") as b2:
        clients = {"A": a, "B1": b1, "B2": b2}

        def everyone_receives() -> bool:
            return all(
                receiving(me.feeds.get(other.user_id), PATTERNS[other_name])
                for me in clients.values()
                for other_name, other in clients.items()
                if other is not me
            )

        await until(everyone_receives, 30, "every device to decode every other device's video and audio")
        codes = {c.group_code() for c in clients.values()}
        assert len(codes) == 1 and None not in codes

        for me in clients.values():
            for other_name, other in clients.items():
                if other is me:
                    continue
                feed = me.feeds[other.user_id]
                tone = dominant_frequency(samples_of(list(feed.audio)[-25:]), 48000)
                assert abs(tone - TONES[other_name]) < 10, (other_name, tone)
                assert feed.stats["video"].failed == 0 and feed.stats["video"].decrypted > 0
        assert {d["delegation"] for d in a.roster.values()} == {"Delegation A", "Delegation B"}
