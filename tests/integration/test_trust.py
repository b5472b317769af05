"""A hostile server against SDK devices: a hidden member, a swapped key, codes that must not change.

The server here is the real one, in this process, turned hostile by `hostile` the way its operator
could (its roster op, its gateway's proposals). The devices are real SDK clients with dave.py;
what they send is checked where it leaves for the others: at Janus.
"""

from __future__ import annotations

import asyncio
from functools import partial
from pathlib import Path

import pytest
from calls import PATTERNS, THREE_DEVICES, janus_spy, joined, receiving, summit_links, until
from hostile import hide_from_roster, room_of, swap_key

from parley.cli import print_call
from parley.media.sources import PatternVideoTrack, ToneAudioTrack
from parley.protocol.codes import MembershipStatus
from parley.sdk.client import JoinError, ParleyClient
from parley.server.runtime import ParleyServer

pytestmark = pytest.mark.anyio

WINDOW = 3.0  # s of watching Janus forward nothing: at 15 fps video and 50 fps audio, ~200 frames


def in_key_group(client: ParleyClient, user_id: int) -> bool:
    return client.member is not None and user_id in client.member.roster


def alarmed_about(client: ParleyClient, user_id: int, words: str) -> bool:
    return any(str(user_id) in text and words in text for text in client.alarms)


async def test_a_member_the_roster_hides_raises_an_alarm_on_every_device_and_gets_no_media(
    parley: ParleyServer, capsys: pytest.CaptureFixture[str]
) -> None:
    a_link, b_link, ghost_link = summit_links(parley, THREE_DEVICES)
    async with joined(a_link, "A") as a, joined(b_link, "B1") as b:
        await until(lambda: receiving(b.feeds.get(a.user_id), PATTERNS["A"]), 30, "B to see A")
        room = room_of(parley, a.link.summit_id)
        hide_from_roster(room, lambda device: device.people == ["Ghost"])
        ghost = ParleyClient(ghost_link, ["Ghost"], video=PatternVideoTrack(PATTERNS["B2"]))
        await ghost.join()
        try:
            await until(lambda: alarmed_about(a, ghost.user_id, "not in the call's roster"), 30, "A's alarm")
            await until(lambda: alarmed_about(b, ghost.user_id, "not in the call's roster"), 30, "B's alarm")
            assert ghost.user_id not in a.roster and ghost.user_id not in b.roster
            assert {m.user_id: m.status for m in a.members()}[ghost.user_id] is MembershipStatus.HIDDEN
            assert a.holding and b.holding
            print_call(a)  # what `parley join` shows of it
            printed = capsys.readouterr().out
            assert f"UNKNOWN [user {ghost.user_id}, hidden]" in printed and "SENDING NOTHING" in printed
            # Checked where frames leave for the others: Janus forwards nothing of A while the
            # ghost is in the group, and the ghost, subscribed to A, decrypts nothing of it.
            async with janus_spy(parley, a.summit.channel_id, a.user_id) as spied:
                await asyncio.sleep(WINDOW)
                held = len(spied.forwarded)
                assert held == 0, f"A sent {held} frames while a hidden member was in its key group"
                assert ghost.feeds.get(a.user_id) is not None, "the ghost subscribed to A"
                assert ghost.feeds[a.user_id].video_frames == 0
                await ghost.close()  # the ghost goes: the group is whole again, A sends again
                await until(lambda: not a.holding, 30, "A to stop holding")
                await until(lambda: len(spied.forwarded) > 20, 30, "Janus to forward A again")
        finally:
            await ghost.close()


async def test_a_key_swapped_under_a_user_id_raises_an_alarm_and_holds_media(parley: ParleyServer) -> None:
    # Three devices: with two, removing one leaf would re-create the group (sole member reset).
    a_link, b1_link, b2_link = summit_links(parley, THREE_DEVICES)
    async with joined(a_link, "A") as a, joined(b1_link, "B1") as b1, joined(b2_link, "B2") as b2:
        await until(lambda: receiving(b2.feeds.get(a.user_id), PATTERNS["A"]), 30, "B2 to see A")
        await until(lambda: in_key_group(a, b1.user_id) and in_key_group(b2, b1.user_id), 30, "one group")
        assert not a.alarms and not b2.alarms
        swap_key(room_of(parley, a.link.summit_id), b1.user_id)
        for observer in (a, b2):
            await until(partial(alarmed_about, observer, b1.user_id, "key changed"), 30, "the alarm")
            assert {m.user_id: m.status for m in observer.members()}[
                b1.user_id
            ] is MembershipStatus.KEY_CHANGED
            assert observer.holding
        async with janus_spy(parley, a.summit.channel_id, a.user_id) as spied:
            await asyncio.sleep(WINDOW)
            assert spied.forwarded == [], "A sent frames to a key group holding a swapped key"


async def test_a_device_that_comes_back_with_its_key_keeps_its_user_id_and_pairwise_code(
    parley: ParleyServer, tmp_path: Path
) -> None:
    a_link, b_link = summit_links(parley, THREE_DEVICES[:2])
    key_file = tmp_path / "b.key"

    def device_b() -> ParleyClient:
        return ParleyClient(b_link, ["B1"], audio=ToneAudioTrack(660.0), key_file=key_file)

    a = ParleyClient(a_link, ["A"], known_keys_file=tmp_path / "a-known-keys.json")
    await a.join()
    try:
        b = device_b()
        await b.join()
        await until(lambda: in_key_group(a, b.user_id), 30, "B in A's key group")
        first_id, first_code = b.user_id, await a.pairwise_code(b.user_id)
        await b.leave()
        await until(lambda: first_id not in a.roster, 30, "B to leave")

        again = device_b()
        await again.join()
        try:
            assert again.user_id == first_id
            await until(lambda: in_key_group(a, again.user_id), 30, "B back in A's key group")
            assert await a.pairwise_code(again.user_id) == first_code
        finally:
            await again.close()

        assert again.user_id not in a.new_keys
        await until(lambda: first_id not in a.roster, 30, "B to leave again")  # the link admits one
        other = ParleyClient(b_link, ["B1"], audio=ToneAudioTrack(660.0), key_file=tmp_path / "other.key")
        await other.join()  # the same link with another key is another device, and shown as new
        try:
            assert other.user_id != first_id
            await until(lambda: other.user_id in a.new_keys, 30, "A to mark B's new key")
        finally:
            await other.close()
        assert not a.alarms
    finally:
        await a.close()


async def test_a_device_already_present_is_not_displaced_by_another_connection_with_its_key(
    parley: ParleyServer, tmp_path: Path
) -> None:
    """The user id follows from link and public key, both of which others may know; a second
    connection claiming them is refused while the device is there, and gets in once it has left."""
    a_link, b_link = summit_links(parley, THREE_DEVICES[:2])
    key_file = tmp_path / "b.key"
    async with joined(a_link, "A") as a:
        first = ParleyClient(b_link, ["B1"], key_file=key_file)
        await first.join()
        try:
            await until(lambda: in_key_group(a, first.user_id), 30, "the first connection in the group")
            with pytest.raises(JoinError) as refused:
                await ParleyClient(b_link, ["B1"], key_file=key_file).join()
            assert refused.value.code == "device_connected"
            assert first.ended is None and first.user_id in a.roster
        finally:
            await first.leave()
        await until(lambda: first.user_id not in a.roster, 30, "the first connection to leave")
        second = ParleyClient(b_link, ["B1"], key_file=key_file)
        await second.join()
        try:
            assert second.user_id == first.user_id
        finally:
            await second.close()
