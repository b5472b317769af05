"""The room's booth policy, against a fake media plane that records what the room asks of Janus:
who may publish into a channel, when an interpreter's voice is forwarded, and that a handover
never lets two voices of one booth through at once, even when booth changes race."""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import AsyncIterator, Callable, Coroutine
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fakes import RecordingSocket, fake_ready
from support import device_key

from parley.interpretation.booth import BoothError, BoothState
from parley.media.plane import MediaError
from parley.protocol.errors import PolicyError
from parley.server.attendee import Attendee
from parley.server.room import Device, Room
from parley.summit.course import Admission, AtEnd, Course
from parley.summit.model import Delegation, Role, Summit

pytestmark = pytest.mark.anyio

CHANNEL_ID = 42
NORTH = Delegation("d1", "s1", "North", "en")
SOUTH = Delegation("d2", "s1", "South", "ru")
AUDIO = "v=0\r\na=group:BUNDLE 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:0\r\n"
AUDIO_VIDEO = AUDIO.replace("BUNDLE 0", "BUNDLE 0 1") + "m=video 9 UDP/TLS/RTP/SAVPF 96\r\na=mid:1\r\n"
AUDIO_NO_VIDEO = AUDIO_VIDEO.replace("m=video 9 ", "m=video 0 ")
AUDIO_DATA = (
    AUDIO.replace("BUNDLE 0", "BUNDLE 0 1")
    + "m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\na=mid:1\r\n"
)
NO_MID = AUDIO.replace("a=mid:0\r\n", "").replace("a=group:BUNDLE 0\r\n", "")
TWO_MIDS = AUDIO + "a=MID:x\r\n"
TWO_AUDIO = AUDIO.replace("BUNDLE 0", "BUNDLE 0 1") + "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:1\r\n"

Call = tuple[Any, ...]


class RecordingFakeMediaPlane:
    """Stands in for Janus: records every request, and keeps the set of feeds whose audio it has
    been told to forward. `forward_audio` yields to the loop, as a request to Janus does, so booth
    changes made at once really interleave. `channel_of` (filled by the test) says which booth a
    feed belongs to, so the fake can count the voices of each channel after every request."""

    on_published: Callable[[int], Coroutine[Any, Any, None]] | None = None
    on_subscribed: Callable[[int, int], Coroutine[Any, Any, None]] | None = None

    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.forwarded: set[int] = set()
        self.channel_of: dict[int, str] = {}
        self.most_voices_at_once = 0

    def voices(self, language: str) -> set[int]:
        return {feed for feed in self.forwarded if self.channel_of.get(feed) == language}

    async def open_room(self, room: int) -> None:
        self.calls.append(("open_room", room))

    async def publish(
        self, room: int, feed: int, display: str, offer_sdp: str, *, forward: bool = True
    ) -> str:
        self.calls.append(("publish", feed, forward))
        if forward:
            self.forwarded.add(feed)
        else:
            self.forwarded.discard(feed)
        return f"answer for {feed}"

    async def subscribe(self, room: int, subscriber: int, feed: int) -> str:
        self.calls.append(("subscribe", subscriber, feed))
        return "offer"

    async def start(self, subscriber: int, feed: int, answer_sdp: str) -> None:
        self.calls.append(("start", subscriber, feed))

    async def trickle(self, device: int, feed: int | None, candidate: dict[str, Any] | None) -> None:
        self.calls.append(("trickle", device, feed))

    async def forward_audio(self, room: int, feed: int, forward: bool) -> None:
        assert room == CHANNEL_ID
        await asyncio.sleep(0)  # the request is on its way to Janus
        self.calls.append(("forward_audio", feed, forward))
        if forward:
            self.forwarded.add(feed)
        else:
            self.forwarded.discard(feed)
        for language in set(self.channel_of.values()):
            self.most_voices_at_once = max(self.most_voices_at_once, len(self.voices(language)))
        await asyncio.sleep(0)  # and its answer on its way back

    async def drop_device(self, device: int) -> None:
        self.calls.append(("drop_device", device))

    async def close_room(self, room: int) -> None:
        self.calls.append(("close_room", room))


class Summitry:
    """A summit with English and Russian channels, its room on the fake, and what it logged."""

    def __init__(self) -> None:
        start = datetime.now(UTC)
        summit = Summit(
            "s1", "Talks", start, 60, CHANNEL_ID, (NORTH, SOUTH), Admission.OPEN, languages=("en", "ru")
        )
        course = Course.new(start, timedelta(minutes=60), Admission.OPEN, AtEnd.HARD_STOP)
        self.media = RecordingFakeMediaPlane()
        self.logged: list[tuple[str, dict[str, Any]]] = []
        self.room = Room(summit, self.media, course, self._persist)

    async def _persist(self, course: Course, kind: str, detail: dict[str, Any]) -> None:
        self.logged.append((kind, detail))

    async def arrive(
        self, user_id: int, role: Role = Role.INTERPRETER, language: str | None = "ru"
    ) -> Device:
        delegation = SOUTH if language == "ru" else NORTH
        attendee = Attendee(
            user_id,
            delegation,
            role,
            (f"Person {user_id}",),
            key=device_key(),
            link=f"link-{user_id}",
            invitation_id=f"invitation-{user_id}",
            max_devices=1,
            language=language,
        )
        device = Device(attendee, RecordingSocket())
        if language is not None:
            self.media.channel_of[user_id] = language
        await self.room.arrive(device, fake_ready)
        return device

    async def interpreter(self, user_id: int, language: str = "ru") -> Device:
        """An interpreter in the call whose microphone is up at Janus."""
        device = await self.arrive(user_id, language=language)
        await self.room.publish(device, AUDIO, language)
        await self.room.published(user_id)
        return device

    def calls_since(self, mark: int) -> list[Call]:
        return self.media.calls[mark:]

    async def flushed(self) -> None:
        """Let every device's writer send what the room queued."""
        for _ in range(100):
            if all(d.outbox.empty() for d in self.room.devices.values()):
                break
            await asyncio.sleep(0)


def socket_of(device: Device) -> RecordingSocket:
    assert isinstance(device.connection, RecordingSocket)
    return device.connection


@pytest.fixture
async def summitry() -> AsyncIterator[Summitry]:
    made = Summitry()
    yield made
    await made.room.close()


# -- who may publish where ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "language", "channel", "sdp", "code"),
    [
        (Role.DELEGATE, None, "fr", AUDIO, "no_such_channel"),
        (Role.INTERPRETER, "ru", "fr", AUDIO, "no_such_channel"),
        (Role.DELEGATE, None, "ru", AUDIO, "channel_forbidden"),
        (Role.PRINCIPAL, None, "en", AUDIO, "channel_forbidden"),
        (Role.INTERPRETER, "ru", None, AUDIO, "channel_forbidden"),
        (Role.INTERPRETER, "ru", "en", AUDIO, "channel_forbidden"),
        (Role.INTERPRETER, "ru", "ru", AUDIO_VIDEO, "audio_only"),
        (Role.INTERPRETER, "ru", "ru", AUDIO_NO_VIDEO, "audio_only"),
        (Role.INTERPRETER, "ru", "ru", NO_MID, "unmappable_offer"),
        (Role.INTERPRETER, "ru", "ru", TWO_MIDS, "unmappable_offer"),
        (Role.INTERPRETER, "ru", "ru", TWO_AUDIO, "unmappable_offer"),
        (Role.INTERPRETER, "ru", "ru", AUDIO_DATA, "unmappable_offer"),
        (Role.DELEGATE, None, None, NO_MID, "unmappable_offer"),
        (Role.DELEGATE, None, None, AUDIO_DATA, "unmappable_offer"),
    ],
)
async def test_a_publish_against_the_channel_policy_is_refused_before_any_media_request(
    summitry: Summitry, role: Role, language: str | None, channel: str | None, sdp: str, code: str
) -> None:
    device = await summitry.arrive(7, role, language)
    mark = len(summitry.media.calls)
    with pytest.raises(PolicyError) as refused:
        await summitry.room.publish(device, sdp, channel)
    assert refused.value.code == code
    assert not isinstance(refused.value, MediaError)  # a rule refused it: nothing failed
    assert summitry.calls_since(mark) == []


async def test_an_interpreter_offers_its_voice_and_a_delegate_the_floor_with_or_without_video(
    summitry: Summitry,
) -> None:
    interpreter = await summitry.arrive(7)
    delegate = await summitry.arrive(8, Role.DELEGATE, None)
    mark = len(summitry.media.calls)
    assert await summitry.room.publish(interpreter, AUDIO, "ru") == "answer for 7"
    assert await summitry.room.publish(delegate, AUDIO_VIDEO) == "answer for 8"
    assert await summitry.room.publish(delegate, AUDIO_NO_VIDEO) == "answer for 8"
    assert summitry.calls_since(mark) == [("publish", 7, False), ("publish", 8, True), ("publish", 8, True)]


async def test_a_non_live_interpreter_is_muted_at_janus_before_its_publish_is_answered(
    summitry: Summitry,
) -> None:
    device = await summitry.arrive(7)
    mark = len(summitry.media.calls)
    answer = await summitry.room.publish(device, AUDIO, "ru")
    assert summitry.calls_since(mark) == [("publish", 7, False)]  # muted in the same request
    assert answer == "answer for 7" and summitry.media.forwarded == set()


async def test_a_live_interpreter_publishing_again_after_a_janus_restart_is_forwarded_at_once(
    summitry: Summitry,
) -> None:
    device = await summitry.interpreter(7)
    await summitry.room.take_over(device)
    await summitry.room.media_reset()
    assert (
        7 not in summitry.room.policy.publishing and summitry.room.policy.booths["ru"].live == 7
    )  # the turn survives
    mark = len(summitry.media.calls)
    await summitry.room.publish(device, AUDIO, "ru")
    assert summitry.calls_since(mark) == [("publish", 7, True)]


# -- taking over, handing over, coughing --------------------------------------------------------


async def test_taking_over_with_the_microphone_up_forwards_the_interpreters_voice(summitry: Summitry) -> None:
    device = await summitry.interpreter(7)
    mark = len(summitry.media.calls)
    await summitry.room.take_over(device)
    assert summitry.calls_since(mark) == [("forward_audio", 7, True)]
    assert summitry.room.policy.booths["ru"].live == 7 and summitry.media.forwarded == {7}


async def test_taking_over_before_the_microphone_is_up_is_refused_without_a_media_request(
    summitry: Summitry,
) -> None:
    device = await summitry.arrive(7)
    await summitry.room.publish(device, AUDIO, "ru")  # offered, not yet up at Janus
    mark = len(summitry.media.calls)
    with pytest.raises(BoothError) as refused:
        await summitry.room.take_over(device)
    assert refused.value.code == "not_publishing"
    assert summitry.calls_since(mark) == [] and summitry.room.policy.booths["ru"].state is BoothState.IDLE


async def test_at_a_handover_the_outgoing_voice_is_muted_before_the_incoming_one_is_let_through(
    summitry: Summitry,
) -> None:
    first, second = await summitry.interpreter(7), await summitry.interpreter(8)
    await summitry.room.take_over(first)
    mark = len(summitry.media.calls)
    await summitry.room.hand_over(first)
    assert summitry.calls_since(mark) == []  # the outgoing one talks on until relieved
    await summitry.room.take_over(second)
    assert summitry.calls_since(mark) == [("forward_audio", 7, False), ("forward_audio", 8, True)]
    assert summitry.media.forwarded == {8} and summitry.media.most_voices_at_once == 1


async def test_a_mate_taking_over_while_someone_is_live_is_refused_and_janus_is_left_alone(
    summitry: Summitry,
) -> None:
    first, second = await summitry.interpreter(7), await summitry.interpreter(8)
    await summitry.room.take_over(first)
    mark = len(summitry.media.calls)
    with pytest.raises(BoothError) as refused:
        await summitry.room.take_over(second)
    assert refused.value.code == "booth_busy"
    assert summitry.calls_since(mark) == [] and summitry.media.forwarded == {7}


async def test_the_cough_key_mutes_and_unmutes_the_live_voice_at_janus(summitry: Summitry) -> None:
    live, mate = await summitry.interpreter(7), await summitry.interpreter(8)
    await summitry.room.take_over(live)
    mark = len(summitry.media.calls)
    await summitry.room.cough(live, True)
    assert summitry.calls_since(mark) == [("forward_audio", 7, False)] and summitry.media.forwarded == set()
    await summitry.room.cough(mate, True)  # a mate's key changes nothing that is heard
    await summitry.room.cough(live, False)
    assert summitry.calls_since(mark)[1:] == [("forward_audio", 7, True)]
    assert summitry.media.forwarded == {7}


async def test_each_booth_forwards_its_own_live_voice(summitry: Summitry) -> None:
    russian, english = await summitry.interpreter(7, "ru"), await summitry.interpreter(8, "en")
    await summitry.room.take_over(russian)
    await summitry.room.take_over(english)
    assert summitry.media.forwarded == {7, 8} and summitry.media.most_voices_at_once == 1
    assert summitry.room.policy.booths["ru"].live == 7 and summitry.room.policy.booths["en"].live == 8


@pytest.mark.parametrize("role", [Role.DELEGATE, Role.HOST, Role.PRINCIPAL])
async def test_only_interpreters_work_in_a_booth(summitry: Summitry, role: Role) -> None:
    device = await summitry.arrive(7, role, None)
    mark = len(summitry.media.calls)
    for change in (
        summitry.room.take_over(device),
        summitry.room.hand_over(device),
        summitry.room.cough(device, True),
    ):
        with pytest.raises(BoothError) as refused:
            await change
        assert refused.value.code == "forbidden"
    assert summitry.calls_since(mark) == []


async def test_booth_changes_made_at_once_never_let_two_voices_through(summitry: Summitry) -> None:
    devices = [await summitry.interpreter(user_id) for user_id in (7, 8, 9)]
    room = summitry.room
    await room.take_over(devices[0])
    rng = random.Random(6)

    async def some_changes() -> None:
        for _ in range(4):
            device = rng.choice(devices)
            change = rng.choice(["take_over", "hand_over", "cough", "uncough", "relay"])
            with contextlib.suppress(BoothError):  # refused changes are the booth's business
                if change == "take_over":
                    await room.take_over(device)
                elif change == "hand_over":
                    await room.hand_over(device)
                elif change == "relay":  # the live one hands over and a mate takes over at once
                    live = next(d for d in devices if d.user_id == room.policy.booths["ru"].live)
                    await room.hand_over(live)
                    await room.take_over(device)
                else:
                    await room.cough(device, change == "cough")

    turns = set()
    for _ in range(40):
        await asyncio.gather(*(some_changes() for _ in range(3)))
        booth = room.policy.booths["ru"]
        turns.add(booth.live)
        # Settled: Janus forwards exactly the voice the booth says, and never two on the way.
        assert summitry.media.voices("ru") == ({booth.forwarding()} - {None})
        assert summitry.media.most_voices_at_once <= 1
    assert turns == {7, 8, 9}  # the turn really moved around
    assert [
        c for c in summitry.media.calls if c[0] == "forward_audio" and c[2]
    ]  # and voices were let through


async def test_the_live_interpreter_departing_ends_its_turn_and_its_voice(summitry: Summitry) -> None:
    live, mate = await summitry.interpreter(7), await summitry.interpreter(8)
    await summitry.room.take_over(live)
    mark = len(summitry.media.calls)
    await summitry.room.depart(7)
    booth = summitry.room.policy.booths["ru"]
    assert booth.state is BoothState.IDLE and booth.interpreters == (8,)
    assert summitry.calls_since(mark) == [("drop_device", 7), ("forward_audio", 7, False)]
    assert summitry.media.forwarded == set()
    await summitry.flushed()
    last = socket_of(mate).ops("booths")[-1]["booths"]
    assert {
        "language": "ru",
        "interpreters": [8],
        "live": None,
        "handing_over": False,
        "muted": False,
    } in last
    await summitry.room.take_over(mate)  # nobody to wait for now
    assert summitry.media.forwarded == {8}


# -- what devices are told, and what the summit keeps -------------------------------------------


async def test_every_device_is_told_the_booths_after_each_change(summitry: Summitry) -> None:
    listener = await summitry.arrive(5, Role.DELEGATE, None)
    live, mate = await summitry.interpreter(7), await summitry.interpreter(8)

    async def russian_booth_seen_by(device: Device) -> dict[str, Any]:
        await summitry.flushed()
        booths = socket_of(device).ops("booths")[-1]["booths"]
        assert [b["language"] for b in booths] == ["en", "ru"]
        russian: dict[str, Any] = booths[1]
        return russian

    assert await russian_booth_seen_by(listener) == {
        "language": "ru",
        "interpreters": [7, 8],
        "live": None,
        "handing_over": False,
        "muted": False,
    }
    await summitry.room.take_over(live)
    assert (await russian_booth_seen_by(listener))["live"] == 7
    await summitry.room.cough(live, True)
    assert (await russian_booth_seen_by(mate))["muted"] is True
    await summitry.room.cough(live, False)
    await summitry.room.hand_over(live)
    seen = await russian_booth_seen_by(listener)
    assert seen["handing_over"] is True and seen["live"] == 7 and seen["muted"] is False
    await summitry.room.take_over(mate)
    seen = await russian_booth_seen_by(live)
    assert seen["live"] == 8 and seen["handing_over"] is False


async def test_the_summit_log_keeps_who_interpreted_when_but_not_coughs(summitry: Summitry) -> None:
    first, second = await summitry.interpreter(7), await summitry.interpreter(8)
    await summitry.room.take_over(first)
    await summitry.room.cough(first, True)
    await summitry.room.cough(first, False)
    await summitry.room.hand_over(first)
    await summitry.room.take_over(second)
    assert summitry.logged == [
        ("booth_live", {"language": "ru", "user_id": 7}),
        ("booth_hand_over", {"language": "ru", "user_id": 7}),
        ("booth_live", {"language": "ru", "user_id": 8}),
    ]
