"""Parley's media plane on Janus: what a room asks of the SFU, done on the devices' behalf.

One API connection and one Janus session per server; per device, one VideoRoom publisher handle
(its own media) and one subscriber handle per feed it receives. Rooms are created with
`require_e2ee`, and every publish carries the E2EE flag: Janus refuses a plain publisher. Janus
never sees a key; it forwards the frames the devices already encrypted.

A publisher counts as up only when Janus reports `webrtcup` for it: subscribing earlier gets
428 "No such feed". The plane reports that moment through `on_published`, and the moment a
subscription is up through `on_subscribed`: its publisher should send a keyframe then.

Each feed's video runs at the cap `VideoCaps` keeps (`parley.media.video_caps`): Janus's
`slowlink` reports on subscriber handles lower it while a receiver keeps losing packets, a timer
raises it again, and the plane tells the publisher by VideoRoom `configure` (Janus sends REMB).

When Janus restarts every handle dies; `reconnect` opens a new session and forgets them, and the
rooms ask their devices to publish again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Coroutine
from typing import Any

from parley.media.janus_api import HandleEvent, IceCandidate, JanusException, Jsep, SlowLink, WebrtcUp
from parley.media.janus_client import JanusClient, JanusSession
from parley.media.video_caps import CEILING, VideoCaps
from parley.media.videoroom import (
    PublishedStream,
    StreamRequest,
    VideoRoom,
    VideoRoomError,
    VideoRoomPublisher,
    VideoRoomSubscriber,
)
from parley.protocol.codes import ErrorCode
from parley.protocol.errors import ParleyError

log = logging.getLogger(__name__)

MAX_PUBLISHERS = 64
CAPS_TICK = 2.0  # s between looks at whether a lowered video cap may rise
ROOM_EXISTS = 427  # VideoRoom's "room already exists"


class MediaError(ParleyError):
    """The media server refused or failed a request (`media_refused`, `media_unavailable`); what
    Parley's own rules refuse is a PolicyError, never this."""


def _media_error(e: JanusException, what: str) -> MediaError:
    if isinstance(e, VideoRoomError):
        return MediaError(ErrorCode.MEDIA_REFUSED, f"{what}: Janus error {e.code}: {e}")
    return MediaError(
        ErrorCode.MEDIA_UNAVAILABLE, f"{what}: the media server is not available ({type(e).__name__})"
    )


class JanusMediaPlane:
    def __init__(self, url: str, api_secret: str) -> None:
        self.url = url
        self._secret = api_secret
        self._client: JanusClient | None = None
        self._session: JanusSession | None = None
        self._admin: VideoRoom | None = None
        self._publishers: dict[int, VideoRoomPublisher] = {}
        self._mids: dict[int, tuple[str, ...]] = {}  # per feed: its streams, as Janus names them
        self._subscribers: dict[tuple[int, int], VideoRoomSubscriber] = {}
        self.on_published: Callable[[int], Coroutine[Any, Any, None]] | None = None
        self.on_subscribed: Callable[[int, int], Coroutine[Any, Any, None]] | None = None
        self._callbacks: set[asyncio.Task[None]] = set()
        self._caps = VideoCaps()
        self._caps_timer: asyncio.Task[None] | None = None

    async def connect(self) -> None:
        self._client = await JanusClient.connect(self.url, self._secret)
        self._session = await self._client.create_session()
        self._admin = await VideoRoom.attach(self._session)
        if self._caps_timer is None:
            self._caps_timer = asyncio.get_running_loop().create_task(self._raise_caps(), name="video-caps")

    async def reconnect(self) -> None:
        """After a Janus restart: a new connection and session; the old handles are gone."""
        self._publishers.clear()
        self._mids.clear()
        self._subscribers.clear()
        self._caps = VideoCaps()
        if self._client:
            with contextlib.suppress(JanusException, OSError):
                await self._client.close()
        await self.connect()

    async def close(self) -> None:
        if self._caps_timer is not None:
            self._caps_timer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._caps_timer
            self._caps_timer = None
        if self._client:
            await self._client.close()

    def video_cap(self, feed: int) -> int:
        """bit/s: the most the feed's video may use now."""
        return self._caps.cap(feed)

    def _need(self) -> tuple[JanusSession, VideoRoom]:
        if self._session is None or self._admin is None:
            raise MediaError(ErrorCode.MEDIA_UNAVAILABLE, "the media server is not connected")
        return self._session, self._admin

    async def open_room(self, room: int) -> None:
        _, admin = self._need()
        try:
            if not await admin.exists(room):
                await admin.create_room(room, publishers=MAX_PUBLISHERS, require_e2ee=True, bitrate=CEILING)
        except VideoRoomError as e:
            if e.code != ROOM_EXISTS:  # made meanwhile: that is what we wanted
                raise _media_error(e, "opening the summit's media room") from e
        except JanusException as e:
            raise _media_error(e, "opening the summit's media room") from e

    async def close_room(self, room: int) -> None:
        _, admin = self._need()
        with contextlib.suppress(JanusException):
            await admin.destroy_room(room)

    async def publish(
        self, room: int, feed: int, display: str, offer_sdp: str, *, forward: bool = True
    ) -> str:
        """Publish the device's offer; Janus's answer. With `forward` False, every stream Janus
        holds for the feed is muted before the answer is returned, by the mids Janus reports
        (not the offer's): if that fails, the publisher is detached, so nothing is left
        published that the policy could not mute."""
        session, _ = self._need()
        old = self._publishers.pop(feed, None)
        self._mids.pop(feed, None)
        if old is not None:
            with contextlib.suppress(JanusException):
                await old.handle.detach()
        try:
            publisher = await VideoRoomPublisher.attach(session)
        except JanusException as e:
            raise _media_error(e, "publishing") from e
        self._publishers[feed] = publisher
        try:
            await publisher.join(room, feed, display)
            publisher.handle.add_listener(lambda event: self._publisher_event(feed, event))
            answer = await publisher.publish(Jsep("offer", offer_sdp, trickle=False), e2ee=True)
            self._mids[feed] = _stream_mids(publisher.streams)
            if (cap := self._caps.published(room, feed)) < CEILING:
                await publisher.configure_bitrate(cap)
            if not forward:
                await self.forward_audio(room, feed, False)
        except (JanusException, MediaError) as e:
            self._publishers.pop(feed, None)
            self._mids.pop(feed, None)
            with contextlib.suppress(JanusException):
                await publisher.handle.detach()
            raise e if isinstance(e, MediaError) else _media_error(e, "publishing") from e
        return answer.sdp

    async def forward_audio(self, room: int, feed: int, forward: bool) -> None:
        """Have Janus forward a publisher's streams (an interpreter's: its voice only), or drop
        them at the publisher (VideoRoom `moderate`, by the mids Janus reported at publish). A
        feed that is not published (any more) has nothing to forward: no-op."""
        _, admin = self._need()
        if feed not in self._publishers:
            return
        try:
            for mid in self._mids.get(feed, ()):
                await admin.moderate(room, feed, mid, mute=not forward)
        except JanusException as e:
            raise _media_error(e, "moderating a channel") from e

    def _publisher_event(self, feed: int, event: HandleEvent) -> None:
        if isinstance(event, WebrtcUp) and self.on_published is not None:
            self._call_back(self.on_published(feed))

    def _subscriber_event(self, subscriber: int, feed: int, event: HandleEvent) -> None:
        if isinstance(event, WebrtcUp) and self.on_subscribed is not None:
            self._call_back(self.on_subscribed(subscriber, feed))
        elif isinstance(event, SlowLink) and event.uplink:
            now = asyncio.get_running_loop().time()
            if (cap := self._caps.slow(subscriber, feed, event.media_type, now)) is not None:
                log.info(
                    "feed %d: video capped at %d bit/s (device %d keeps losing packets)",
                    feed,
                    cap,
                    subscriber,
                )
                self._call_back(self._set_cap(feed, cap))

    async def _set_cap(self, feed: int, cap: int) -> None:
        publisher = self._publishers.get(feed)
        if publisher is None:
            return
        try:
            await publisher.configure_bitrate(cap)
        except (JanusException, TimeoutError) as e:  # the feed or Janus went: a new publish starts afresh
            log.info("feed %d: the video cap was not applied: %s", feed, e)

    async def _raise_caps(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(CAPS_TICK)
            for feed, cap in self._caps.tick(loop.time()):
                log.info("feed %d: video cap raised to %d bit/s", feed, cap)
                await self._set_cap(feed, cap)

    def _call_back(self, callback: Coroutine[Any, Any, None]) -> None:
        """Handle events run in the Janus reader task, which must not block: each callback gets its
        own task."""
        task = asyncio.get_running_loop().create_task(callback)
        self._callbacks.add(task)
        task.add_done_callback(self._callbacks.discard)

    async def subscribe(self, room: int, subscriber: int, feed: int) -> str:
        session, _ = self._need()
        try:
            old = self._subscribers.pop((subscriber, feed), None)
            if old is not None:
                with contextlib.suppress(JanusException):
                    await old.handle.detach()
            handle = await VideoRoomSubscriber.attach(session)
            self._subscribers[(subscriber, feed)] = handle
            handle.handle.add_listener(lambda event: self._subscriber_event(subscriber, feed, event))
            offer = await handle.join(room, [StreamRequest(feed=feed)])
        except JanusException as e:
            raise _media_error(e, "subscribing") from e
        return offer.sdp

    async def start(self, subscriber: int, feed: int, answer_sdp: str) -> None:
        handle = self._subscribers.get((subscriber, feed))
        if handle is None:
            raise MediaError(ErrorCode.NO_SUBSCRIPTION, f"no pending subscription to feed {feed}")
        try:
            await handle.start(Jsep("answer", answer_sdp, trickle=False))
        except JanusException as e:
            raise _media_error(e, "starting the subscription") from e

    async def trickle(self, device: int, feed: int | None, candidate: dict[str, Any] | None) -> None:
        target = self._publishers.get(device) if feed is None else self._subscribers.get((device, feed))
        if target is None:
            raise MediaError(ErrorCode.NO_CONNECTION, "no media connection to trickle to")
        try:
            if candidate is None:
                await target.handle.trickle(completed=True)
            else:
                ice = IceCandidate(
                    candidate["candidate"], candidate.get("sdpMid"), candidate.get("sdpMLineIndex")
                )
                await target.handle.trickle([ice])
        except JanusException as e:
            raise _media_error(e, "trickling a candidate") from e

    async def drop_device(self, device: int) -> None:
        """Detach every handle that served this device, and every subscription to its feed."""
        handles = [p.handle for f, p in self._publishers.items() if f == device]
        self._publishers.pop(device, None)
        self._mids.pop(device, None)
        self._caps.forget(device)
        for key in [k for k in self._subscribers if device in k]:
            handles.append(self._subscribers.pop(key).handle)
        for handle in handles:
            with contextlib.suppress(JanusException):
                await handle.detach()


def _stream_mids(streams: tuple[PublishedStream, ...]) -> tuple[str, ...]:
    """The mids Janus gave a publisher's streams; a stream it left unnamed cannot be moderated."""
    if not streams or any(s.mid is None for s in streams):
        raise MediaError(
            ErrorCode.UNMAPPABLE_OFFER, "the media server holds a stream it cannot name: not published"
        )
    return tuple(s.mid for s in streams if s.mid is not None)
