"""The server's media plane on a real Janus: what `moderate` really stops, whatever the offer said.

A publisher here is a plain aiortc peer (no DAVE: Janus cannot tell, and the test listens for the
tone itself); the subscriber is another. The plane is driven as the room drives it, without the
room's offer policy in front, so what is shown is what Janus itself enforces.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator

import pytest
from aiortc import MediaStreamTrack, RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError
from calls import until

from parley.media.janus_process import JanusProcess
from parley.media.plane import JanusMediaPlane
from parley.media.sources import ToneAudioTrack

pytestmark = pytest.mark.anyio

ROOM, MATE, LISTENER = 4343, 7, 8


@contextlib.asynccontextmanager
async def media_plane(janus: JanusProcess) -> AsyncIterator[JanusMediaPlane]:
    plane = JanusMediaPlane(janus.url, janus.config.api_secret)
    await plane.connect()
    try:
        await plane.open_room(ROOM)
        yield plane
    finally:
        await plane.close()


def peer() -> RTCPeerConnection:
    return RTCPeerConnection(RTCConfiguration(iceServers=[]))  # no STUN: nothing leaves the namespace


async def count_frames(track: MediaStreamTrack, counted: list[int]) -> None:
    with contextlib.suppress(MediaStreamError):
        while True:
            await track.recv()
            counted[0] += 1


async def test_a_muted_feed_delivers_nothing_even_when_its_offer_named_no_mid(janus: JanusProcess) -> None:
    async with media_plane(janus) as plane:
        up = asyncio.Event()

        async def published(feed: int) -> None:
            up.set()

        plane.on_published = published
        mate, listener = peer(), peer()
        try:
            mate.addTrack(ToneAudioTrack(1500.0))
            await mate.setLocalDescription(await mate.createOffer())
            # The offer as a modified client sends it: no a=mid, no BUNDLE. Janus names the
            # stream itself (by its index); the plane must mute by that name.
            offer = "".join(
                f"{line}\r\n"
                for line in mate.localDescription.sdp.splitlines()
                if not line.startswith(("a=mid:", "a=group:"))
            )
            answer = await plane.publish(ROOM, MATE, "mate", offer)
            await plane.forward_audio(ROOM, MATE, False)  # off air, as a booth mate is
            answer = answer.replace("a=group:BUNDLE (null)", "a=group:BUNDLE 0")
            answer = re.sub(r"(m=audio [^\r\n]*\r\n)", r"\1a=mid:0\r\n", answer)
            await mate.setRemoteDescription(RTCSessionDescription(answer, "answer"))
            await asyncio.wait_for(up.wait(), 20)

            counted = [0]
            readers: list[asyncio.Task[None]] = []
            listener.on(
                "track", lambda track: readers.append(asyncio.ensure_future(count_frames(track, counted)))
            )
            offered = await plane.subscribe(ROOM, LISTENER, MATE)
            await listener.setRemoteDescription(RTCSessionDescription(offered, "offer"))
            await listener.setLocalDescription(await listener.createAnswer())
            await plane.start(LISTENER, MATE, listener.localDescription.sdp)
            await until(lambda: listener.connectionState == "connected", 20, "the listener to connect")
            await asyncio.sleep(1.5)  # a second and a half of the mate talking, muted
            assert counted[0] == 0, f"Janus forwarded {counted[0]} frames of a muted feed"

            await plane.forward_audio(ROOM, MATE, True)  # the same feed on air: it does flow
            await until(lambda: counted[0] > 25, 20, "the unmuted feed to reach the listener")
            for reader in readers:
                reader.cancel()
        finally:
            await listener.close()
            await mate.close()
