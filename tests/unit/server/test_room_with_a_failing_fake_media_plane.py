"""The room when Janus cannot open the summit's media room (a fake media plane that fails)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fakes import RecordingSocket, fake_ready
from support import device_key

from parley.media.plane import MediaError
from parley.protocol.codes import ErrorCode
from parley.server.attendee import Attendee
from parley.server.room import Device, Room
from parley.summit.course import Admission, AtEnd, Course
from parley.summit.model import Delegation, Role, Summit

pytestmark = pytest.mark.anyio


class FailingMediaPlane:
    """Stands in for Janus being down: every request fails as JanusMediaPlane reports it."""

    on_published: Callable[[int], Coroutine[Any, Any, None]] | None = None
    on_subscribed: Callable[[int, int], Coroutine[Any, Any, None]] | None = None

    async def open_room(self, room: int) -> None:
        raise MediaError(ErrorCode.MEDIA_UNAVAILABLE, "opening the summit's media room: not available")

    async def publish(
        self, room: int, feed: int, display: str, offer_sdp: str, *, forward: bool = True
    ) -> str:
        raise AssertionError("not reached")

    async def subscribe(self, room: int, subscriber: int, feed: int) -> str:
        raise AssertionError("not reached")

    async def start(self, subscriber: int, feed: int, answer_sdp: str) -> None:
        raise AssertionError("not reached")

    async def trickle(self, device: int, feed: int | None, candidate: dict[str, Any] | None) -> None:
        raise AssertionError("not reached")

    async def forward_audio(self, room: int, feed: int, forward: bool) -> None:
        raise AssertionError("not reached")

    async def drop_device(self, device: int) -> None:
        pass

    async def close_room(self, room: int) -> None:
        pass


async def test_a_device_going_straight_in_is_answered_with_the_media_error_and_leaves_nothing() -> None:
    start = datetime.now(UTC)
    delegation = Delegation("d1", "s1", "Delegation A", "en")
    summit = Summit("s1", "Talks", start, 60, 42, (delegation,), Admission.OPEN)
    course = Course.new(start, timedelta(minutes=60), Admission.OPEN, AtEnd.HARD_STOP)

    async def persist(course: Course, kind: str, detail: dict[str, Any]) -> None:
        pass

    room = Room(summit, FailingMediaPlane(), course, persist)
    socket = RecordingSocket()
    attendee = Attendee(
        7, delegation, Role.PRINCIPAL, ("Principal A",), device_key(), "link-7", "invitation-7", 1
    )
    device = Device(attendee, socket)
    with pytest.raises(MediaError) as failed:
        await room.arrive(device, fake_ready)
    assert failed.value.code == "media_unavailable"
    assert room.empty and device.writer is None and socket.sent == []
    assert room.gateway.members() == frozenset()
    await room.close()
    assert not [t for t in asyncio.all_tasks() if t.get_name().startswith(("writer-", "clock-"))]
