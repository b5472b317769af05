"""The secure call end to end: `parley serve` with its own Janus, SDK clients of two delegations.

Nothing is mocked: real Janus forwarding real aiortc media, real DAVE (dave.py) keys, the
server's real signalling. Each test proves what a participant would check: the other devices'
video decodes to their pattern, their tone arrives, every screen shows the same code.
"""

from __future__ import annotations

import time
from pathlib import Path

import av
import pytest
from aiortc.contrib.media import MediaPlayer
from calls import (
    PATTERNS,
    THREE_DEVICES,
    TONES,
    all_decode,
    assert_blind,
    connected,
    join,
    joined,
    receiving,
    summit_links,
    unbroken,
    until,
)
from wan.profiles import Profile, join_allowance

from parley.media.sources import (
    PatternVideoTrack,
    ToneAudioTrack,
    dominant_frequency,
    samples_of,
)
from parley.sdk.client import ParleyClient
from parley.sdk.member import Media
from parley.server.runtime import ParleyServer
from parley.summit.model import Role

pytestmark = pytest.mark.anyio


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
                tone = dominant_frequency(samples_of(unbroken(feed.audio)), 48000)
                assert abs(tone - TONES[other_name]) < 10, (other_name, tone)
                assert feed.stats["video"].failed == 0 and feed.stats["video"].decrypted > 0
        assert {d.delegation for d in a.roster.values()} == {"Delegation A", "Delegation B"}


async def test_the_server_is_blind_a_keyless_subscriber_at_janus_decodes_nothing(
    parley: ParleyServer,
) -> None:
    links = summit_links(parley, THREE_DEVICES[:2])
    async with joined(links[0], "A") as a, joined(links[1], "B1") as b1:
        await until(lambda: receiving(b1.feeds.get(a.user_id), PATTERNS["A"]), 30, "B1 to receive A")
        await assert_blind(parley, a, b1, PATTERNS["A"])


async def test_a_device_that_leaves_loses_the_keys_and_can_rejoin_with_its_link(parley: ParleyServer) -> None:
    links = summit_links(parley, THREE_DEVICES)
    async with joined(links[0], "A") as a, joined(links[1], "B1") as b1:
        b2 = ParleyClient(
            links[2], ["B2"], audio=ToneAudioTrack(TONES["B2"]), video=PatternVideoTrack(PATTERNS["B2"])
        )
        await join(b2, "Delegation B")
        await until(lambda: receiving(b2.feeds.get(a.user_id), PATTERNS["A"]), 30, "B2 to receive A")
        assert a.member is not None and b2.member is not None
        sender, departed, gone = a.member, b2.member, b2.user_id
        code_before, executed_before = a.group_code(), len(sender.executed_transitions)

        await b2.leave()  # b2's DaveMember stays here, with every key it had
        await until(lambda: gone not in a.roster and gone not in b1.roster, 5, "the others to be told")
        await until(lambda: len(sender.executed_transitions) > executed_before, 5, "A to change keys")
        assert a.group_code() != code_before and a.group_code() == b1.group_code()
        rotated = time.monotonic()

        frames = [(Media.VIDEO, PatternVideoTrack(1).frame(0).to_ndarray().tobytes()[:2000])]
        frames += [(Media.AUDIO, b"\xfc" + bytes(60))] * 5
        for kind, frame in frames:
            sealed = sender.encrypt(kind, frame)
            assert sealed is not None and departed.decrypt(a.user_id, kind, sealed) is None
        back = await all_decode({"A": a, "B1": b1}, rotated)
        print(f"\nleave: A and B1 decode each other {back:.2f} s after the keys rotated")

        rejoining = time.monotonic()
        async with joined(links[2], "B2") as again:  # the same link admits it again, as a new device

            def in_the_call() -> bool:  # the group's keys, and its connections and theirs to it up
                same_keys = again.group_code() == a.group_code() == b1.group_code()
                return same_keys and connected(again, a, b1) and connected(a, again) and connected(b1, again)

            await until(in_the_call, 30, "B2 to be back in the call")
            rejoined = time.monotonic()
            back = await all_decode({"A": a, "B1": b1, "B2": again}, rejoined)
            print(
                f"rejoin: B2 back in the call {rejoined - rejoining:.2f} s after it rejoined; all three"
                f" decode each other {back:.2f} s later"
            )
            # The server asked it for keyframes as A's and B1's subscriptions to it came up (one now,
            # one 0.3 s later, shared by subscriptions that come up together), and each of them too.
            await until(
                lambda: min(c.keyframes_sent for c in (a, b1, again)) >= 2,
                5,
                "keyframes at the server's word",
            )


def _media_file(path: Path, pattern: int, seconds: float) -> Path:
    """A WebM with the test picture and a 440 Hz tone, written with PyAV (what an SDK user would play)."""
    video, audio = PatternVideoTrack(pattern), ToneAudioTrack(440.0)
    with av.open(str(path), "w") as container:
        vstream = container.add_stream("libvpx", rate=15)
        vstream.width, vstream.height, vstream.pix_fmt = 320, 240, "yuv420p"
        astream = container.add_stream("libopus", rate=48000)
        for i in range(int(seconds * 15)):
            frame = video.frame(i)
            frame.pts = None
            container.mux(vstream.encode(frame))
        for i in range(int(seconds * 50)):
            container.mux(astream.encode(audio.frame(i * 960)))
        container.mux(vstream.encode(None))
        container.mux(astream.encode(None))
    return path


async def test_a_device_can_publish_from_a_file(
    parley: ParleyServer, tmp_path: Path, wan_profile: Profile | None
) -> None:
    links = summit_links(parley, THREE_DEVICES[:2])
    # The file plays out once, from the publisher's join: long enough to outlast the joins on a WAN.
    seconds = 4.0 + join_allowance(wan_profile)
    player = MediaPlayer(str(_media_file(tmp_path / "statement.webm", 11, seconds)))
    publisher = ParleyClient(links[0], ["Recorded statement"], audio=player.audio, video=player.video)
    await join(publisher, "Delegation A")
    try:
        async with joined(links[1], "B1") as b1:
            await until(
                lambda: receiving(b1.feeds.get(publisher.user_id), 11, frames=5), 20, "the file's picture"
            )
    finally:
        await publisher.close()
        for track in (player.audio, player.video):
            if track is not None:
                track.stop()  # ends the player's reading thread
