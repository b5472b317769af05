"""Janus as the Parley server runs it: a supervised child, driven over its WebSocket API, with real aiortc
peers publishing and subscribing through the VideoRoom plugin. Nothing is mocked."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import os
import signal
from collections.abc import AsyncIterator
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import AudioStreamTrack, MediaStreamTrack, VideoStreamTrack
from av import VideoFrame
from calls import until

from parley.media.janus_api import HandleLost, JanusConnectionLost, JanusError, Jsep, PluginEvent, WebrtcUp
from parley.media.janus_client import JanusClient, JanusSession, next_event
from parley.media.janus_config import JanusConfig
from parley.media.janus_process import JanusProcess
from parley.media.videoroom import (
    NO_SUCH_FEED,
    UNAUTHORIZED,
    PublishersAdded,
    StreamRequest,
    VideoRoom,
    VideoRoomError,
    VideoRoomPublisher,
    VideoRoomSubscriber,
    room_event,
)

pytestmark = pytest.mark.anyio

ROOM = 4242
WIDTH, HEIGHT = 320, 240
KEEPALIVE = 0.3


class MovingBarTrack(VideoStreamTrack):
    """A white bar sweeping across black: decoded frames that are neither blank nor all alike."""

    def __init__(self) -> None:
        super().__init__()
        self._n = 0

    async def recv(self) -> VideoFrame:
        pts, time_base = await self.next_timestamp()
        image = np.zeros((HEIGHT, WIDTH, 3), np.uint8)
        x = (self._n * 8) % WIDTH
        image[:, x : x + 40] = 255
        self._n += 1
        frame = VideoFrame.from_ndarray(image, format="bgr24")
        frame.pts, frame.time_base = pts, Fraction(time_base)
        return frame


def peer_connection() -> RTCPeerConnection:
    # No ICE servers: aiortc's default is a public STUN server, and tests never leave the namespace.
    return RTCPeerConnection(RTCConfiguration(iceServers=[]))


@contextlib.asynccontextmanager
async def closing(pc: RTCPeerConnection) -> AsyncIterator[RTCPeerConnection]:
    try:
        yield pc
    finally:
        await pc.close()


async def publish(publisher: VideoRoomPublisher, pc: RTCPeerConnection, *, e2ee: bool) -> Jsep:
    """Offer audio and video from ``pc`` through the VideoRoom API and apply Janus's answer."""
    pc.addTrack(AudioStreamTrack())
    pc.addTrack(MovingBarTrack())
    await pc.setLocalDescription(await pc.createOffer())
    # aiortc gathers before setLocalDescription returns: every candidate is in the SDP, none will trickle.
    offer = Jsep("offer", pc.localDescription.sdp, trickle=False)
    answer = await publisher.publish(offer, e2ee=e2ee, descriptions={"0": "microphone", "1": "camera"})
    await pc.setRemoteDescription(RTCSessionDescription(answer.sdp, answer.type))
    return answer


async def count_frames(track: MediaStreamTrack, wanted: int, timeout: float) -> list[VideoFrame]:
    frames: list[VideoFrame] = []
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(timeout):
            while len(frames) < wanted:
                frame = await track.recv()
                assert isinstance(frame, VideoFrame)
                frames.append(frame)
    return frames


async def test_janus_starts_with_only_videoroom_and_websockets(
    janus: JanusProcess, janus_client: JanusClient
) -> None:
    info = await janus_client.info()

    assert info.version == "1.1.2"
    assert info.plugins == ("janus.plugin.videoroom",)
    assert info.transports == ("janus.transport.websockets",)
    assert info.event_handlers == () and info.loggers == ()
    assert info.api_secret_required
    assert janus.healthy() and janus.pid is not None


async def test_the_api_wants_the_secret_and_listens_on_127_0_0_1_only(janus: JanusProcess) -> None:
    async with await JanusClient.connect(janus.url, "not-the-secret") as stranger:
        with pytest.raises(JanusError) as refused:
            await stranger.create_session()
    assert refused.value.code == 403

    # pv0's 127.0.1.1 is as local as it gets, yet not the API's address.
    with pytest.raises(OSError):
        await JanusClient.connect(f"ws://127.0.1.1:{janus.config.ws_port}", janus.config.api_secret)


async def test_e2ee_publisher_is_forwarded_to_a_subscriber_that_decodes_it(
    janus_session: JanusSession,
) -> None:
    room = await VideoRoom.attach(janus_session)
    await room.create_room(ROOM, publishers=4, require_e2ee=True)
    assert await room.exists(ROOM)

    watcher = await VideoRoomPublisher.attach(janus_session)  # a participant that only listens
    assert await watcher.join(ROOM, feed_id=2, display="bob") == []
    watcher_events = watcher.handle.subscribe()

    alice = await VideoRoomPublisher.attach(janus_session)
    assert await alice.join(ROOM, feed_id=1, display="alice") == []
    alice_events = alice.handle.subscribe()
    async with closing(peer_connection()) as alice_pc:
        answer = await publish(alice, alice_pc, e2ee=True)
        assert answer.e2ee
        assert "a=candidate:" in answer.sdp  # half-trickle: Janus's candidates come in its answer
        await next_event(alice_events, WebrtcUp, timeout=10)

        announced = await next_event(watcher_events, PluginEvent, timeout=5)
        added = room_event(announced)
        assert isinstance(added, PublishersAdded)
        (feed,) = added.publishers
        assert (feed.id, feed.display) == (1, "alice")
        assert [(s.type, s.codec, s.description) for s in feed.streams] == [
            ("audio", "opus", "microphone"),
            ("video", "vp8", "camera"),
        ]
        participants = {p.id: p.publisher for p in await room.list_participants(ROOM)}
        assert participants == {1: True, 2: False}

        subscriber = await VideoRoomSubscriber.attach(janus_session)
        offer = await subscriber.join(ROOM, [StreamRequest(feed=1)])
        assert "a=candidate:" in offer.sdp
        assert [(s.type, s.feed_id, s.feed_mid) for s in subscriber.streams] == [
            ("audio", 1, "0"),
            ("video", 1, "1"),
        ]
        async with closing(peer_connection()) as bob_pc:
            video: asyncio.Future[MediaStreamTrack] = asyncio.get_running_loop().create_future()

            @bob_pc.on("track")
            def on_track(track: MediaStreamTrack) -> None:
                if track.kind == "video" and not video.done():
                    video.set_result(track)

            await bob_pc.setRemoteDescription(RTCSessionDescription(offer.sdp, offer.type))
            await bob_pc.setLocalDescription(await bob_pc.createAnswer())
            sub_events = subscriber.handle.subscribe()
            await subscriber.start(Jsep("answer", bob_pc.localDescription.sdp))
            await next_event(sub_events, WebrtcUp, timeout=10)

            frames = await count_frames(await asyncio.wait_for(video, 5), wanted=15, timeout=10)
            assert len(frames) == 15
            assert {(f.width, f.height) for f in frames} == {(WIDTH, HEIGHT)}
            lumas = [f.to_ndarray(format="gray") for f in frames]
            assert all(luma.max() > 200 and luma.min() < 50 for luma in lumas)  # the bar, on black
            assert not np.array_equal(lumas[0], lumas[-1])  # and it moves

    await room.destroy_room(ROOM)
    assert not await room.exists(ROOM)


async def test_a_plain_publisher_is_refused_in_an_e2ee_room(janus_session: JanusSession) -> None:
    room = await VideoRoom.attach(janus_session)
    await room.create_room(ROOM, publishers=4, require_e2ee=True)
    mallory = await VideoRoomPublisher.attach(janus_session)
    await mallory.join(ROOM, feed_id=7, display="mallory")

    async with closing(peer_connection()) as pc:
        with pytest.raises(VideoRoomError) as refused:
            await publish(mallory, pc, e2ee=False)
    assert refused.value.code == UNAUTHORIZED
    assert "end-to-end" in refused.value.message

    # And nobody can subscribe to what was never published.
    subscriber = await VideoRoomSubscriber.attach(janus_session)
    with pytest.raises(VideoRoomError) as no_feed:
        await subscriber.join(ROOM, [StreamRequest(feed=7)])
    assert no_feed.value.code == NO_SUCH_FEED


def all_threads_stopped(pid: int) -> bool:
    """Whether every thread of `pid` is stopped (state T in /proc), as SIGSTOP leaves them."""
    try:
        stats = [(task / "stat").read_text() for task in Path(f"/proc/{pid}/task").iterdir()]
    except FileNotFoundError:  # a thread ended while we looked: look again
        return False
    # The state follows the command name in parentheses: "pid (comm) T ...".
    return all(stat.rsplit(")", 1)[1].split()[0] in ("T", "t") for stat in stats)


async def test_a_killed_janus_is_restarted_and_serves_new_rooms(
    janus: JanusProcess, janus_client: JanusClient, janus_session: JanusSession
) -> None:
    restarted = asyncio.Event()

    async def on_restart() -> None:
        assert janus.healthy()  # callbacks run once the new Janus answers
        restarted.set()

    janus.on_restart(on_restart)
    room = await VideoRoom.attach(janus_session)
    await room.create_room(ROOM, publishers=2)
    lost_events = room.handle.subscribe()
    disconnected: list[JanusConnectionLost] = []
    janus_client.on_disconnect(disconnected.append)

    old_pid = janus.pid
    assert old_pid is not None
    os.kill(old_pid, signal.SIGSTOP)  # frozen, so this request is still pending when Janus dies
    # Each thread stops when it next enters the kernel: on a loaded machine one may still answer.
    await until(lambda: all_threads_stopped(old_pid), 10, "every Janus thread to stop")
    pending = asyncio.create_task(room.exists(ROOM))
    await asyncio.sleep(0.2)
    loop = asyncio.get_running_loop()
    killed_at = loop.time()
    os.kill(old_pid, signal.SIGKILL)

    with pytest.raises(JanusConnectionLost, match="connection"):
        await pending
    assert isinstance(await next_event(lost_events, HandleLost, timeout=5), HandleLost)
    await asyncio.wait_for(restarted.wait(), timeout=15)  # generous: CI machines are loaded
    print(f"\nJanus answered again {loop.time() - killed_at:.2f} s after kill -9")
    assert janus.pid not in (None, old_pid)
    assert janus.restarts == 1
    assert len(disconnected) == 1 and janus_client.closed
    with pytest.raises(JanusConnectionLost):
        await janus_client.create_session()

    async with await JanusClient.connect(janus.url, janus.config.api_secret) as client:
        session = await client.create_session()
        fresh = await VideoRoom.attach(session)
        assert not await fresh.exists(ROOM)  # rooms live in Janus's memory: the server re-creates them
        await fresh.create_room(ROOM, publishers=2)
        assert await fresh.exists(ROOM)


async def test_a_hung_janus_is_killed_and_replaced(janus_config: JanusConfig, tmp_path: Path) -> None:
    async with JanusProcess(janus_config, tmp_path / "janus", backoff=(0.0,), probe_interval=0.2) as janus:
        restarted = asyncio.Event()

        async def on_restart() -> None:
            restarted.set()

        janus.on_restart(on_restart)
        old_pid = janus.pid
        assert old_pid is not None
        os.kill(old_pid, signal.SIGSTOP)
        await asyncio.wait_for(restarted.wait(), timeout=15)  # generous: CI machines are loaded
        assert janus.pid not in (None, old_pid) and janus.healthy()


async def test_keepalives_keep_a_quiet_session_past_janus_session_timeout(
    janus_config: JanusConfig, tmp_path: Path
) -> None:
    config = dataclasses.replace(janus_config, session_timeout=1)
    async with (
        JanusProcess(config, tmp_path / "janus") as janus,
        await JanusClient.connect(janus.url, config.api_secret, keepalive_interval=KEEPALIVE) as client,
    ):
        session = await client.create_session()
        room = await VideoRoom.attach(session)
        # Janus's watchdog runs every 2 s and ends a session on the second run that finds it idle past the
        # timeout: without keepalives this one would be gone 3-5 s from now (measured: 4 s).
        await asyncio.sleep(5.5)
        assert not session.timed_out
        assert not await room.exists(ROOM)
