"""What one invitation can bring into a room, against a fake media plane whose room takes a few
turns of the loop to open (as Janus does): devices per invitation, even when they arrive
together; the lobby's cap; and the lobby told one device per op, each op small."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable, Coroutine
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fakes import RecordingSocket, fake_ready
from support import device_key

from parley.protocol.fields import MAX_NAME, MAX_PEOPLE
from parley.server.attendee import Attendee
from parley.server.room import Device, Room
from parley.server.room_policy import MAX_LOBBY
from parley.summit.course import Admission, AtEnd, Course, CourseError
from parley.summit.model import Delegation, Role, Summit

pytestmark = pytest.mark.anyio

NORTH = Delegation("d1", "s1", "North", "en")
# The largest lobby op a device can cause: every name at its longest, in characters that JSON
# escapes to 12 bytes each, from a delegation whose name (the organiser's) is as long as the API
# allows and escaped the same way.
MAX_LOBBY_OP = 8 * 1024


class SlowOpeningFakeMediaPlane:
    """Stands in for Janus: opening the room takes a few turns of the loop; nothing else is asked."""

    on_published: Callable[[int], Coroutine[Any, Any, None]] | None = None
    on_subscribed: Callable[[int, int], Coroutine[Any, Any, None]] | None = None

    async def open_room(self, room: int) -> None:
        for _ in range(3):
            await asyncio.sleep(0)

    async def drop_device(self, device: int) -> None:
        pass

    async def close_room(self, room: int) -> None:
        pass


def make_room(admission: Admission) -> Room:
    start = datetime.now(UTC)
    summit = Summit("s1", "Talks", start, 60, 42, (NORTH,), admission)
    course = Course.new(start, timedelta(minutes=60), admission, AtEnd.HARD_STOP)

    async def persist(course: Course, kind: str, detail: dict[str, Any]) -> None:
        pass

    return Room(summit, SlowOpeningFakeMediaPlane(), course, persist)  # type: ignore[arg-type]


@pytest.fixture
async def room() -> AsyncIterator[Room]:
    opened = make_room(Admission.HOST)
    yield opened
    await opened.close()


def device(
    user_id: int,
    invitation: str,
    max_devices: int = 1,
    role: Role = Role.DELEGATE,
    people: list[str] | None = None,
) -> Device:
    people = people or [f"Person {user_id}"]
    attendee = Attendee(
        user_id, NORTH, role, tuple(people), device_key(), f"link-{user_id}", invitation, max_devices
    )
    return Device(attendee, RecordingSocket())


async def arrive(room: Room, arriving: Device) -> CourseError | None:
    return await room.arrive(arriving, fake_ready)


def sent(d: Device) -> RecordingSocket:
    assert isinstance(d.connection, RecordingSocket)
    return d.connection


async def flushed(*devices: Device) -> None:
    """Until every device's writer has sent what was queued for it."""
    for _ in range(100):
        if all(d.outbox.empty() for d in devices):
            await asyncio.sleep(0)
            return
        await asyncio.sleep(0)
    raise AssertionError("the writers did not drain their outboxes")


async def test_two_devices_arriving_together_on_a_one_device_link_get_one_place() -> None:
    room = make_room(Admission.OPEN)  # straight in: both wait for the media server's room
    first, second = device(1, "shared"), device(2, "shared")
    outcomes = await asyncio.gather(arrive(room, first), arrive(room, second))
    assert outcomes[0] is None
    assert outcomes[1] is not None and outcomes[1].code == "invitation_in_use"
    assert "one device at a time" in str(outcomes[1])
    assert list(room.devices) == [1] and second.writer is None
    await room.close()


async def test_a_link_admits_as_many_devices_as_it_allows_and_a_place_frees_when_one_leaves(
    room: Room,
) -> None:
    assert [await arrive(room, device(i, "press", 3, Role.PRESS)) for i in (1, 2, 3)] == [None] * 3
    fourth = await arrive(room, device(4, "press", 3, Role.PRESS))
    assert fourth is not None and fourth.code == "invitation_in_use" and "3 devices at a time" in str(fourth)
    assert await arrive(room, device(5, "another link")) is None  # other invitations are not affected
    await room.depart(2)
    assert await arrive(room, device(6, "press", 3, Role.PRESS)) is None


async def test_the_lobby_holds_at_most_max_lobby_devices_and_the_host_still_comes_in(room: Room) -> None:
    for i in range(MAX_LOBBY):
        assert await arrive(room, device(i + 1, f"link {i}")) is None
    full = await arrive(room, device(1000, "one more link"))
    assert full is not None and full.code == "lobby_full"
    assert len(room.lobby) == MAX_LOBBY
    assert await arrive(room, device(2000, "host link", role=Role.HOST)) is None
    assert 2000 in room.devices


async def test_the_host_hears_of_the_lobby_one_device_per_op_and_of_each_leaving(room: Room) -> None:
    waiting = [device(i, f"link {i}") for i in (1, 2)]
    for w in waiting:
        await arrive(room, w)
    host = device(9, "host link", role=Role.HOST)
    await arrive(room, host)
    await flushed(host)
    assert [d["device"]["user_id"] for d in sent(host).ops("lobby_joined")] == [1, 2]
    late = device(3, "link 3")
    await arrive(room, late)
    await room.admit(host, 1)
    await room.depart(2)
    await flushed(host)
    assert [d["device"]["user_id"] for d in sent(host).ops("lobby_joined")] == [1, 2, 3]
    assert sent(host).ops("lobby_left") == [{"user_id": 1}, {"user_id": 2}]
    assert sent(host).ops("lobby") == []  # never the whole lobby in one op


async def test_a_lobby_op_stays_small_whatever_the_names() -> None:
    room = make_room(Admission.HOST)
    widest = Delegation("d1", "s1", "\U0001f3db" * 120, "en")
    names = ["\U0001f600" * MAX_NAME] * MAX_PEOPLE
    host = device(9, "host link", role=Role.HOST)
    await arrive(room, host)
    attendee = Attendee(1, widest, Role.DELEGATE, tuple(names), device_key(), "0f" * 8, "link", 1)
    arriving = Device(attendee, RecordingSocket())
    await arrive(room, arriving)
    await flushed(host)
    (frame,) = [t for t in sent(host).sent if isinstance(t, str) and '"lobby_joined"' in t]
    assert json.loads(frame)["d"]["device"]["people"] == names
    assert len(frame.encode()) <= MAX_LOBBY_OP
    await room.close()
