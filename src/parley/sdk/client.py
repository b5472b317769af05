"""A Parley device in Python: joins a summit with an invite link, publishes and receives
end-to-end encrypted audio and video.

Three layers, each its own object: the signalling WebSocket (this class), the DAVE member
(`DaveMember`: keys, codes), and aiortc peer connections whose encoded frames pass through the
member (`parley.media.frame_transform`). The server relays SDP to Janus; Janus forwards frames it
cannot read. Every frame leaving this client is encrypted before packetization; every frame
arriving is decrypted (or dropped) before decoding.

The client repairs what the server asks it to: after `media_reset` (Janus restarted) it publishes
again and resubscribes to everyone, with the same DAVE keys.

Interpretation: the device listens to the floor or one language channel (`listen`); it
subscribes to the floor feeds and to the booth of that channel, and `ear` is what it hears, the
channel over the ducked floor (`parley.interpretation.mixer`). An interpreter publishes audio only,
into its channel, through a cough gate, and works its booth with `take_over` / `hand_over` /
`cough`; its `listen` picks a relay channel (None: the floor).
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import itertools
import json
import logging
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import dave
import numpy as np
import websockets
from aiortc import (
    MediaStreamTrack,
    RTCConfiguration,
    RTCIceServer,
    RTCPeerConnection,
    RTCSessionDescription,
)
from aiortc.contrib.media import MediaRelay
from aiortc.mediastreams import MediaStreamError
from av import AudioFrame, VideoFrame

from parley.interpretation.mixer import Listening, Mixer, Resumption
from parley.media.frame_transform import (
    FrameStats,
    FrameTransform,
    SenderStats,
    attach_receiver_transform,
    attach_sender_transform,
)
from parley.media.sources import samples_of
from parley.protocol.codes import ErrorCode
from parley.protocol.dave_ops import DaveDeviceOp, parse_dave_server_op
from parley.protocol.errors import ParleyError
from parley.protocol.fields import b64url, key_proof_message, unb64url
from parley.protocol.server_ops import encode
from parley.sdk.audio import CoughGate, EarTrack
from parley.sdk.choices import ListeningChoices
from parley.sdk.identity import KEY_VERSION, load_or_create_signature_key, public_key, sign
from parley.sdk.key_memory import KeyMemory
from parley.sdk.member import DaveMember, Media
from parley.sdk.membership import Alarm, CallMembership, Member

log = logging.getLogger(__name__)

KEEP_FRAMES = 30  # decoded frames kept per remote feed and kind, for callers to inspect
# Errors that end a device's stay (the server closes the connection after them).
ENDINGS = frozenset(
    {
        "admission_refused",
        "summit_locked",
        "removed",
        "invitation_revoked",
        "opening_ended",
        "summit_ended",
        "unusable_commits",
    }
)


class _Default(enum.Enum):
    CHOICE = "the stored choice, else the summit's default for this device"


DEFAULT_CHOICE = _Default.CHOICE


class JoinError(ParleyError):
    """The server refused to admit this device; the message says why (expired link, ...)."""


@dataclass(frozen=True)
class InviteLink:
    base_url: str
    summit_id: str
    token: str

    @classmethod
    def parse(cls, link: str) -> InviteLink:
        parts = urlsplit(link)
        path = parts.path.rstrip("/").split("/")
        if parts.scheme not in ("http", "https") or len(path) < 2 or path[-2] != "join" or not parts.fragment:
            raise ValueError("an invite link looks like https://host/join/<summit>#<token>")
        return cls(f"{parts.scheme}://{parts.netloc}", path[-1], parts.fragment)

    @property
    def websocket_url(self) -> str:
        scheme = "wss" if self.base_url.startswith("https") else "ws"
        return f"{scheme}{self.base_url[self.base_url.index(':') :]}/api/summits/{self.summit_id}/ws"


@dataclass
class RemoteFeed:
    """What this client receives from one other device."""

    feed: int
    channel: str | None = None  # the language channel this feed speaks into; None: the floor
    pc: RTCPeerConnection | None = None
    video: deque[VideoFrame] = field(default_factory=lambda: deque(maxlen=KEEP_FRAMES))
    audio: deque[AudioFrame] = field(default_factory=lambda: deque(maxlen=KEEP_FRAMES * 5))
    video_frames: int = 0
    audio_frames: int = 0
    video_times: deque[float] = field(default_factory=lambda: deque(maxlen=KEEP_FRAMES * 20))
    audio_times: deque[float] = field(default_factory=lambda: deque(maxlen=KEEP_FRAMES * 5))
    resumption: Resumption = field(default_factory=Resumption)
    held: int = 0  # frames held back over a pause and dropped (see parley.interpretation.mixer)
    stats: dict[str, FrameStats] = field(default_factory=dict)
    readers: list[asyncio.Task[None]] = field(default_factory=list)


class ParleyClient:
    def __init__(
        self,
        link: str,
        people: list[str],
        *,
        audio: MediaStreamTrack | None = None,
        video: MediaStreamTrack | None = None,
        key_file: Path | None = None,
        on_event: Callable[[str, dict[str, Any]], None] | None = None,
        listen: str | _Default | None = DEFAULT_CHOICE,
        choices_file: Path | None = None,
        on_alarm: Callable[[str], None] | None = None,
        known_keys_file: Path | None = None,
    ) -> None:
        self.link = InviteLink.parse(link)
        self.people = people
        self.audio_track = audio
        self.video_track = video
        self.key_file = key_file
        self.choices = ListeningChoices(choices_file) if choices_file else None
        self._listen: str | _Default | None = listen
        self.listening: str | None = None  # the channel this device hears (None: the floor)
        self.booths: dict[str, dict[str, Any]] = {}
        self.mixer = Mixer()
        self.ear = EarTrack(self.mixer, self._gains)
        self.gate: CoughGate | None = None
        self.on_event = on_event
        self.on_alarm = on_alarm
        self.known_keys_file = known_keys_file  # where to remember the keys each link came with
        self.key_memory: KeyMemory | None = None
        self.new_keys: set[int] = set()  # devices on a link met before, with another key than then
        self.alarms: list[str] = []  # what this device found wrong with the call; see `membership`
        self.member: DaveMember | None = None
        self.membership: CallMembership | None = None
        self._hold = False  # someone in the key group is not accounted for: send nothing
        self._membership_changed = asyncio.Event()
        self.device: dict[str, Any] = {}
        self.summit: dict[str, Any] = {}
        self.roster: dict[int, dict[str, Any]] = {}
        self.feeds: dict[int, RemoteFeed] = {}
        self.errors: list[dict[str, Any]] = []
        self.ice_servers: list[dict[str, Any]] = []
        self.course: dict[str, Any] = {}
        self.lobby: list[dict[str, Any]] = []  # who waits that this device may admit, in arrival order
        self.warnings: list[int] = []
        self.ended: dict[str, Any] | None = None  # the error that ended this device's stay
        self.admitted = asyncio.Event()
        self.publisher: RTCPeerConnection | None = None
        self.publish_stats: dict[str, SenderStats] = {}
        self._ws: websockets.ClientConnection | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._closing: set[asyncio.Task[None]] = set()  # peer connections being closed
        self._answers: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._heartbeat = itertools.count()
        self._relay = MediaRelay()

    # -- lifecycle ---------------------------------------------------------------------------

    @property
    def user_id(self) -> int:
        return int(self.device["user_id"])

    async def join(self) -> None:
        """Connect, identify, and start publishing; returns once the server has admitted us."""
        key = (
            load_or_create_signature_key(self.key_file)
            if self.key_file
            else dave.SignatureKeyPair.generate(KEY_VERSION)
        )
        self._ws = await websockets.connect(self.link.websocket_url, max_size=4 * 1024 * 1024)
        public = public_key(key)
        proof = sign(key, key_proof_message(self.link.token, public))
        identify = {"token": self.link.token, "people": self.people, "key": b64url(public)}
        await self._send_op("identify", {**identify, "proof": b64url(proof)})
        first = json.loads(await self._ws.recv())
        if first.get("op") == "error":
            await self._ws.close()
            raise JoinError(first["d"]["code"], first["d"]["message"])
        if first.get("op") != "ready":
            raise JoinError(ErrorCode.MALFORMED, f"expected ready, got {first.get('op')!r}")
        self.device, self.summit = first["d"]["device"], first["d"]["summit"]
        self.ice_servers = list(first["d"].get("ice_servers", []))
        self.course = first["d"]["course"]
        self.listening = self._initial_channel()
        self.member = DaveMember(self.user_id, int(self.summit["channel_id"]), key, self._alarm)
        self.membership = CallMembership(self.user_id)
        if self.known_keys_file:
            self.key_memory = KeyMemory(self.known_keys_file, self.link.summit_id)
        interval = float(first["d"]["heartbeat_interval"])
        self._tasks.append(asyncio.create_task(self._read(), name="parley-read"))
        self._tasks.append(asyncio.create_task(self._beat(interval), name="parley-heartbeat"))
        self._tasks.append(asyncio.create_task(self._watch_membership(), name="parley-membership"))
        if first["d"]["admitted"]:
            await self._on_admitted()

    async def wait_admitted(self, timeout: float = 30) -> None:
        """Until the host lets this device out of the lobby (or raise TimeoutError)."""
        await asyncio.wait_for(self.admitted.wait(), timeout)

    async def _on_admitted(self) -> None:
        if self.admitted.is_set():  # `ready` said so already; `admitted` follows it
            return
        self.admitted.set()
        if self.device["role"] != "press":  # the press sees and hears; it never publishes
            self._tasks.append(asyncio.create_task(self._publish(), name="parley-publish"))

    # -- host controls (the server refuses them from anyone else) ---------------------------

    async def admit(self, user_id: int) -> None:
        await self._send_op("admit", {"user_id": user_id})

    async def refuse(self, user_id: int) -> None:
        await self._send_op("refuse", {"user_id": user_id})

    async def remove(self, user_id: int) -> None:
        await self._send_op("remove", {"user_id": user_id})

    async def revoke(self, user_id: int) -> None:
        """Revoke the link that device joined with: all its devices leave, and it admits no one."""
        await self._send_op("revoke", {"user_id": user_id})

    async def lock(self, locked: bool) -> None:
        await self._send_op("lock", {"locked": locked})

    async def advance(self, phase: str) -> None:
        await self._send_op("advance", {"phase": phase})

    async def allow_overrun(self) -> None:
        await self._send_op("allow_overrun", {})

    # -- interpretation ------------------------------------------------------------------------

    @property
    def interpreter(self) -> bool:
        return self.device.get("role") == "interpreter"

    def _initial_channel(self) -> str | None:
        if not isinstance(self._listen, _Default):
            channel = self._listen
        else:
            stored, channel = self.choices.get(self.link.summit_id) if self.choices else (False, None)
            if not stored:
                channel = self.device.get("default_channel")  # null for interpreters: the floor
        self._check_channel(channel)
        return channel

    def _check_channel(self, channel: str | None) -> None:
        if channel is not None and channel not in self.summit.get("languages", []):
            raise ValueError(f"this summit has no {channel!r} channel")
        if channel is not None and channel == self.device.get("language"):
            raise ValueError("an interpreter relays another channel, never its own")

    async def listen(self, channel: str | None) -> None:
        """Hear `channel` (a language of the summit) over the ducked floor, or the floor (None).
        For an interpreter: relay from `channel` instead of the floor. Kept for this device."""
        self._check_channel(channel)
        previous, self.listening = self.listening, channel
        if self.choices:
            self.choices.set(self.link.summit_id, channel)
        if previous is not None and previous != channel:
            self.mixer.forget(previous)
        await self._follow_roster()

    def _gains(self) -> dict[Any, float]:
        """What the ear plays, by mixer source: floor feeds by user id, the channel by language."""
        booth = self.booths.get(self.listening or "", {})
        listening = Listening(
            self.listening,
            relay=self.interpreter,
            ducking=float(self.summit.get("ducking", 0.2)),
            live=booth.get("live") is not None,
        )
        floor = listening.floor_gain()
        gains: dict[Any, float] = {f.feed: floor for f in self.feeds.values() if f.channel is None}
        if self.listening is not None:
            gains[self.listening] = 1.0
        return gains

    async def take_over(self) -> None:
        """Go live in this interpreter's booth (refused with `booth_busy` until the live one hands over)."""
        await self._send_op("take_over", {})

    async def hand_over(self) -> None:
        await self._send_op("hand_over", {})

    async def cough(self, muted: bool) -> None:
        """The cough key: silence leaves this device at once; the server stops forwarding too."""
        if self.gate is not None:
            self.gate.muted = muted
        await self._send_op("cough", {"muted": muted})

    async def leave(self) -> None:
        if self._ws is not None:
            with contextlib.suppress(websockets.ConnectionClosed):
                await self._send_op("leave", {})
        await self.close()

    async def close(self) -> None:
        """Stop everything this client started: tasks, peer connections, the socket."""
        for task in self._tasks:
            task.cancel()
        for feed in list(self.feeds.values()):
            self._drop_feed(feed)
        if self.publisher:
            self._retire(self.publisher)
            self.publisher = None
        await asyncio.gather(*self._closing)
        if self._ws:
            await self._ws.close()
        self._tasks.clear()

    # -- verification --------------------------------------------------------------------------

    def members(self) -> list[Member]:
        """Everyone in this device's key group or the server's roster, with what this device
        makes of each (in the call, joining, leaving, hidden, key changed)."""
        return self.membership.members(time.monotonic()) if self.membership else []

    @property
    def holding(self) -> bool:
        """Whether this device is sending nothing because its key group holds someone unexplained."""
        return self._hold

    def _alarm(self, text: str) -> None:
        self.alarms.append(text)
        log.warning("alarm: %s", text)
        if self.on_alarm:
            self.on_alarm(text)
        self._event("alarm", {"text": text})

    def _membership_news(self, alarms: list[Alarm], *, from_watch: bool = False) -> None:
        assert self.membership is not None
        self._hold = self.membership.hold(time.monotonic())
        for alarm in alarms:
            self._alarm(str(alarm))
        if not from_watch:
            self._membership_changed.set()  # the watch re-reads its deadline

    async def _watch_membership(self) -> None:
        """Statuses that change with time alone (a departure's grace, a joiner's bound)."""
        assert self.membership is not None
        while True:
            now = time.monotonic()
            deadline = self.membership.deadline(now)
            timeout = None if deadline is None else deadline - now + 0.05
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._membership_changed.wait(), timeout)
            self._membership_changed.clear()
            self._membership_news(self.membership.tick(time.monotonic()), from_watch=True)

    def group_code(self) -> str | None:
        return self.member.group_code() if self.member else None

    async def pairwise_code(self, user_id: int) -> str:
        assert self.member is not None
        return await self.member.pairwise_code(user_id)

    # -- signalling ----------------------------------------------------------------------------

    async def _send_op(self, op: str, data: dict[str, Any]) -> None:
        assert self._ws is not None
        await self._ws.send(json.dumps({"op": op, "d": data}))

    async def _send_raw(self, message: bytes | DaveDeviceOp) -> None:
        assert self._ws is not None
        await self._ws.send(message if isinstance(message, bytes) else encode(message))

    async def _beat(self, interval: float) -> None:
        while True:
            await asyncio.sleep(interval)
            await self._send_op("heartbeat", {"nonce": next(self._heartbeat)})

    async def _read(self) -> None:
        assert self._ws is not None
        try:
            async for frame in self._ws:
                try:
                    await self._handle(frame)
                except websockets.ConnectionClosed:
                    # The server closed while we answered: still read what it said before (its
                    # reason for closing comes just before the close).
                    continue
        except websockets.ConnectionClosed:
            pass
        finally:
            self._event("closed", {})

    async def _handle(self, frame: str | bytes) -> None:
        assert self.member is not None
        message = frame if isinstance(frame, bytes) else json.loads(frame)
        if isinstance(message, bytes) or isinstance(message.get("op"), int):
            before = self.member.roster
            dave = message if isinstance(message, bytes) else parse_dave_server_op(message)
            replies = self.member.receive_wire(dave)
            self._key_group_news(before)
            for reply in replies:
                await self._send_raw(reply)
        else:
            await self._on_op(message["op"], message["d"])

    def _key_group_news(self, before: dict[int, bytes]) -> None:
        """After a DAVE op: if the key group changed, hold it against the roster at once, before
        any frame is sealed under the new epoch's key."""
        assert self.member is not None and self.membership is not None
        after = self.member.roster
        if after != before:
            self._membership_news(self.membership.key_group(after, time.monotonic()))

    async def _on_op(self, op: str, d: dict[str, Any]) -> None:
        if op in ("publish_answer", "subscribe_offer"):
            key = op if op == "publish_answer" else f"{op}:{d['feed']}"
            future = self._answers.pop(key, None)
            if future and not future.done():
                future.set_result(d)
            elif op == "subscribe_offer":
                await self._accept_offer(int(d["feed"]), d["sdp"])
        elif op == "roster":
            self.roster = {int(dev["user_id"]): dev for dev in d["devices"]}
            assert self.membership is not None
            announced = {u: unb64url(dev["key"]) for u, dev in self.roster.items()}
            if self.key_memory:
                memory = self.key_memory
                others = [(u, dev) for u, dev in self.roster.items() if u != self.user_id]
                self.new_keys = {u for u, dev in others if memory.is_new_key(dev["link"], dev["key"])}
            self._membership_news(self.membership.roster(announced, time.monotonic()))
            await self._follow_roster()
        elif op == "media_reset":
            await self._media_reset()
        elif op == "admitted":
            await self._on_admitted()
        elif op == "course":
            self.course = d
        elif op == "clock_warning":
            self.warnings.append(int(d["minutes_left"]))
        elif op == "lobby_joined":
            waiting = int(d["device"]["user_id"])
            self.lobby = [w for w in self.lobby if int(w["user_id"]) != waiting] + [d["device"]]
        elif op == "lobby_left":
            self.lobby = [w for w in self.lobby if int(w["user_id"]) != int(d["user_id"])]
        elif op == "booths":
            self.booths = {b["language"]: b for b in d["booths"]}
        elif op == "error":
            self.errors.append(d)
            if d["code"] in ENDINGS:
                self.ended = d
        self._event(op, d)

    def _event(self, name: str, data: dict[str, Any]) -> None:
        if self.on_event:
            self.on_event(name, data)

    # -- media ---------------------------------------------------------------------------------

    def _peer_connection(self) -> RTCPeerConnection:
        """ICE servers come from the server (its configured STUN/TURN), never aiortc's default."""
        servers = [RTCIceServer(**s) for s in self.ice_servers]
        return RTCPeerConnection(RTCConfiguration(iceServers=servers))

    async def _publish(self) -> None:
        """Publish our tracks through one peer connection; Janus answers via the server."""
        assert self.member is not None
        member = self.member
        pc = self._peer_connection()
        self.publisher = pc
        # An interpreter publishes its voice only, into its channel, through the cough gate.
        channel = self.device.get("language")
        video = None if channel else self.video_track
        for track, media in ((self.audio_track, Media.AUDIO), (video, Media.VIDEO)):
            if track is None:
                continue
            # Each publish gets a relay of the source: aiortc stops a sender's track when the
            # sender stops, and after a media reset the same camera must publish again.
            source = self._relay.subscribe(track, buffered=False)
            if channel and media is Media.AUDIO:
                muted = self.gate.muted if self.gate else False
                self.gate = CoughGate(source)
                self.gate.muted = muted
                source = self.gate
            sender = pc.addTrack(source)
            self.publish_stats[media.value] = attach_sender_transform(sender, self._sealer(member, media))
        if not pc.getSenders():
            return
        await pc.setLocalDescription(await pc.createOffer())
        self._answers["publish_answer"] = asyncio.get_running_loop().create_future()
        offer: dict[str, Any] = {"sdp": pc.localDescription.sdp}
        if channel:
            offer["channel"] = channel
        await self._send_op("publish", offer)
        answer = await self._answers["publish_answer"]
        await pc.setRemoteDescription(RTCSessionDescription(answer["sdp"], "answer"))

    def _wanted(self, user_id: int, dev: dict[str, Any]) -> bool:
        """The floor (every publishing device but press, which never publishes) and the booth of
        the channel this device listens to; never itself."""
        if user_id == self.user_id or not dev.get("publishing") or dev.get("role") == "press":
            return False
        channel = dev.get("language")
        return channel is None or channel == self.listening

    async def _follow_roster(self) -> None:
        """Subscribe to every feed this device hears or sees; drop the others."""
        for feed_id, feed in list(self.feeds.items()):
            if feed_id not in self.roster or not self._wanted(feed_id, self.roster[feed_id]):
                self._drop_feed(feed)
        for user_id, dev in self.roster.items():
            if self._wanted(user_id, dev) and user_id not in self.feeds:
                self.feeds[user_id] = RemoteFeed(user_id, dev.get("language"))
                await self._send_op("subscribe", {"feed": user_id})

    async def _accept_offer(self, feed_id: int, sdp: str) -> None:
        assert self.member is not None
        member = self.member
        feed = self.feeds.get(feed_id)
        if feed is None:  # dropped while the offer was on its way: not wanted any more
            return
        if feed.pc is not None:
            self._retire(feed.pc)
        pc = self._peer_connection()
        feed.pc = pc

        @pc.on("track")
        def on_track(track: MediaStreamTrack) -> None:
            media = Media.VIDEO if track.kind == "video" else Media.AUDIO
            receiver = next(r for r in pc.getReceivers() if r.track is track)
            feed.stats[media.value] = attach_receiver_transform(receiver, _opener(member, feed_id, media))
            feed.readers.append(asyncio.ensure_future(self._consume(feed, track, media)))

        await pc.setRemoteDescription(RTCSessionDescription(sdp, "offer"))
        await pc.setLocalDescription(await pc.createAnswer())
        await self._send_op("subscribe_answer", {"feed": feed_id, "sdp": pc.localDescription.sdp})

    async def _consume(self, feed: RemoteFeed, track: MediaStreamTrack, media: Media) -> None:
        try:
            while True:
                frame = await track.recv()
                if media is Media.VIDEO:
                    assert isinstance(frame, VideoFrame)
                    feed.video.append(frame)
                    feed.video_frames += 1
                    feed.video_times.append(time.monotonic())
                else:
                    assert isinstance(frame, AudioFrame)
                    now = time.monotonic()
                    if frame.pts is not None and not feed.resumption.fresh(frame.pts, frame.samples, now):
                        feed.held += 1  # the end of a turn long past: not what it says now
                        continue
                    feed.audio.append(frame)
                    feed.audio_frames += 1
                    feed.audio_times.append(now)
                    # The booth's feeds share one queue: one voice (parley.interpretation.mixer).
                    source = feed.channel if feed.channel is not None else feed.feed
                    self.mixer.push(source, samples_of([frame]).astype(np.float32))
        except MediaStreamError:
            return

    def _drop_feed(self, feed: RemoteFeed) -> None:
        self.feeds.pop(feed.feed, None)
        if feed.channel is None:
            self.mixer.forget(feed.feed)
        for reader in feed.readers:
            reader.cancel()
        if feed.pc:
            self._retire(feed.pc)

    def _retire(self, pc: RTCPeerConnection) -> None:
        """Close a peer connection in the background: closing may wait for a connection attempt
        to end (`close_peer`), and the signalling loop must not wait with it."""
        task = asyncio.create_task(close_peer(pc))
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)

    def _sealer(self, member: DaveMember, media: Media) -> FrameTransform:
        """Encrypt each frame for the group, unless the group holds someone unexplained."""
        return lambda frame: None if self._hold else member.encrypt(media, frame)

    async def _media_reset(self) -> None:
        """Janus restarted: publish again and resubscribe to everyone, same keys."""
        for feed in list(self.feeds.values()):
            self._drop_feed(feed)
        if self.publisher:
            self._retire(self.publisher)
        self._tasks.append(asyncio.create_task(self._publish(), name="parley-republish"))


CONNECT_SETTLE = 5.0  # s: how long closing waits for a connection attempt to finish


async def close_peer(pc: RTCPeerConnection) -> None:
    """Close a peer connection, first letting a connection attempt in progress finish.

    aiortc connects in a background task that starts each transceiver's transport in turn; a
    connection closed in between makes that task fail on a closed transport (InvalidStateError,
    raised where no one can catch it). Waiting for the attempt to end, then one moment for the
    task to finish its loop, avoids it; a dropped feed or a leaving device waits at most
    CONNECT_SETTLE.
    """
    if pc.connectionState in ("new", "connecting") and pc.remoteDescription is not None:
        settled = asyncio.Event()

        @pc.on("connectionstatechange")
        def on_change() -> None:
            if pc.connectionState not in ("new", "connecting"):
                settled.set()

        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(settled.wait(), CONNECT_SETTLE)
        await asyncio.sleep(0.05)
    await pc.close()


def _opener(member: DaveMember, sender: int, media: Media) -> FrameTransform:
    return lambda frame: member.decrypt(sender, media, frame)
