"""Faults: Janus dies mid-call, the server restarts. The call comes back by itself, E2EE intact."""

from __future__ import annotations

import asyncio
import os
import signal

import pytest
from calls import PATTERNS, THREE_DEVICES, joined, receiving, summit_links, until

from parley.sdk.client import ParleyClient
from parley.server.runtime import ParleyServer
from parley.summit.model import Role

pytestmark = pytest.mark.anyio


async def test_janus_killed_mid_call_is_restarted_and_clients_recover_within_10_s(
    parley: ParleyServer,
) -> None:
    links = summit_links(parley, THREE_DEVICES[:2])
    async with joined(links[0], "A") as a, joined(links[1], "B1") as b1:
        await until(lambda: receiving(b1.feeds.get(a.user_id), PATTERNS["A"]), 30, "B1 to receive A")
        await until(lambda: receiving(a.feeds.get(b1.user_id), PATTERNS["B1"]), 30, "A to receive B1")
        code = a.group_code()
        old_pid = parley.janus.pid
        assert old_pid is not None

        killed_at = asyncio.get_running_loop().time()
        os.kill(old_pid, signal.SIGKILL)
        await until(lambda: parley.janus.pid not in (None, old_pid), 5, "the server to restart Janus")
        # Fresh subscriptions (the old feeds were dropped on media_reset) that decode again:
        await until(
            lambda: (
                receiving(b1.feeds.get(a.user_id), PATTERNS["A"])
                and receiving(a.feeds.get(b1.user_id), PATTERNS["B1"])
                and b1.feeds[a.user_id].pc is not None
                and a.feeds[b1.user_id].stats["video"].decrypted > 0
            ),
            10,
            "both clients to publish and subscribe again",
        )
        recovered = asyncio.get_running_loop().time() - killed_at
        print(f"\nJanus killed -> both directions decoding again: {recovered:.1f} s")
        # Same keys throughout: the media plane broke, the DAVE group did not.
        assert a.group_code() == b1.group_code() == code
        for feed in (b1.feeds[a.user_id], a.feeds[b1.user_id]):
            assert feed.stats["video"].failed == 0 and feed.stats["audio"].failed == 0


async def test_restarting_the_server_keeps_summits_and_invitations(parley: ParleyServer) -> None:
    (link,) = summit_links(parley, [("Delegation A", Role.PRINCIPAL)])
    summits_before = parley.store.list_summits()
    settings = parley.settings
    await parley.stop()

    again = ParleyServer(settings)
    await again.start()
    try:
        assert again.store.list_summits() == summits_before
        client = ParleyClient(link, ["Principal A"])
        await client.join()  # the link minted before the restart still admits
        assert client.summit.title == summits_before[0].title
        await client.close()
    finally:
        await again.stop()
