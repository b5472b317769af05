"""The room's shell performs its policy's effects one event at a time, in the order of the events,
against a fake summit log that holds every write until the test lets it through (as a slow store
would) and a fake media plane that does nothing."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fakes import RecordingSocket, fake_ready
from support import device_key

from parley.server.attendee import Attendee
from parley.server.room import Device, Room
from parley.summit.course import Admission, AtEnd, Course
from parley.summit.model import Delegation, Role, Summit

pytestmark = pytest.mark.anyio

NORTH = Delegation("d1", "s1", "North", "en")


class IdleFakeMediaPlane:
    """Stands in for Janus: every request succeeds at once."""

    on_published: Callable[[int], Coroutine[Any, Any, None]] | None = None
    on_subscribed: Callable[[int, int], Coroutine[Any, Any, None]] | None = None

    async def open_room(self, room: int) -> None:
        pass

    async def drop_device(self, device: int) -> None:
        pass

    async def close_room(self, room: int) -> None:
        pass


def device(user_id: int, role: Role = Role.DELEGATE) -> Device:
    attendee = Attendee(
        user_id, NORTH, role, (f"Person {user_id}",), device_key(), f"link-{user_id}", f"inv-{user_id}", 1
    )
    return Device(attendee, RecordingSocket())


async def test_a_departure_during_a_slow_removal_is_told_after_it_so_the_last_roster_is_the_true_one() -> (
    None
):
    start = datetime.now(UTC)
    summit = Summit("s1", "Talks", start, 60, 42, (NORTH,), Admission.OPEN)
    course = Course.new(start, timedelta(minutes=60), Admission.OPEN, AtEnd.HARD_STOP)
    gate, writing = asyncio.Event(), asyncio.Event()

    async def slow_log(course: Course, kind: str, detail: dict[str, Any]) -> None:
        writing.set()
        await gate.wait()

    room = Room(summit, IdleFakeMediaPlane(), course, slow_log)  # type: ignore[arg-type]
    host, removed, leaving = device(1, Role.HOST), device(2), device(3)
    for arriving in (host, removed, leaving):
        assert await room.arrive(arriving, fake_ready) is None

    removal = asyncio.create_task(room.remove(host, 2))
    await asyncio.wait_for(writing.wait(), 5)  # the removal's record is on its way to the store
    departure = asyncio.create_task(room.depart(3))  # decided now, told after the removal
    gate.set()
    await asyncio.wait_for(asyncio.gather(removal, departure), 5)
    await room.close()
    assert host.writer is not None
    await asyncio.wait_for(host.writer, 5)  # everything queued for the host is sent

    assert isinstance(host.connection, RecordingSocket)
    rosters = [[d["user_id"] for d in roster["devices"]] for roster in host.connection.ops("roster")]
    assert rosters[-2:] == [[1, 3], [1]]
