"""Helpers for the call tests: a summit with invite links, SDK clients with recognisable media."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import socket
import time
from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from aiortc import MediaStreamTrack, RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError
from av import AudioFrame, VideoFrame
from wan import devices

from parley.media.frame_transform import attach_receiver_transform
from parley.media.janus_api import Jsep
from parley.media.janus_client import JanusClient
from parley.media.sources import PatternVideoTrack, ToneAudioTrack, read_pattern
from parley.media.videoroom import StreamRequest, VideoRoomSubscriber
from parley.sdk.client import ParleyClient, RemoteFeed
from parley.sdk.member import Media
from parley.server.config import load_settings
from parley.server.runtime import ParleyServer
from parley.summit.course import Admission, AtEnd
from parley.summit.model import DEFAULT_DUCKING, Role
from parley.summit.organiser import Seat

PATTERNS = {"A": 3, "B1": 5, "B2": 9}
TONES = {"A": 440.0, "B1": 660.0, "B2": 880.0}
THREE_DEVICES = [
    ("Delegation A", Role.PRINCIPAL),
    ("Delegation B", Role.PRINCIPAL),
    ("Delegation B", Role.DELEGATE),
]


def summit_links(
    server: ParleyServer,
    invites: Sequence[tuple[str, Role] | tuple[str, Role, str] | tuple[str, Role, str | None, int]],
    *,
    admission: Admission = Admission.OPEN,
    at_end: AtEnd = AtEnd.HARD_STOP,
    start: datetime | None = None,
    minutes: int = 120,
    languages: Sequence[str] = ("en", "ru"),
    ducking: float = DEFAULT_DUCKING,
    pins: Mapping[str, str] | None = None,
) -> list[str]:
    """A summit of two delegations (working languages en and ru) with en and ru channels, and its
    invite links; an invite is (delegation, role) or (delegation, Role.INTERPRETER, language), and
    may end with how many devices its link admits at once (one by default).
    No lobby unless `admission` says so. `pins`: {delegation name: fingerprint digits}, for a
    summit that admits certified devices only."""
    store = server.store
    delegations = [("Delegation A", "en"), ("Delegation B", "ru")]
    summit = store.create_summit(
        "Integration summit",
        start or datetime.now(UTC),
        minutes,
        delegations,
        admission,
        at_end,
        languages,
        ducking,
        pins,
    )
    seats = [Seat(*invite) for invite in invites]
    return server.state.organiser.invite_all(summit, seats, timedelta(hours=1))


async def until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        await asyncio.sleep(0.1)


def publishing(client: ParleyClient, *others: ParleyClient | int) -> bool:
    """The client's roster shows every one of `others` (a client, or a user id: a browser's)
    publishing (subscribe-able)."""
    ids = [o if isinstance(o, int) else o.user_id for o in others]
    return all((device := client.roster.get(i)) is not None and device.publishing for i in ids)


def frames_of(client: ParleyClient, feed: int) -> int:
    """How many audio frames the client has decoded from `feed`."""
    found = client.feeds.get(feed)
    return found.audio_frames if found else 0


def receiving(feed: RemoteFeed | None, pattern: int, frames: int = 10) -> bool:
    """Enough decoded video from the feed, the latest frames showing its pattern, and audio."""
    if feed is None or feed.video_frames < frames or feed.audio_frames < 25:
        return False
    return all(read_pattern(f) == pattern for f in list(feed.video)[-3:])


def from_office(delegation: str) -> contextlib.AbstractContextManager[None]:
    """On a WAN run, every socket opened in this block, and by the tasks started in it, is opened in
    `delegation`'s namespace, behind its router; otherwise (or for a delegation with no office) this
    changes nothing. A device's later work that opens sockets from the test's own task (`listen`,
    `publish`) needs it too; what the device starts from its own tasks inherits it from `join`."""
    return devices.at(devices.office(delegation))


async def join(client: ParleyClient, delegation: str) -> ParleyClient:
    """`client` joined as a device of `delegation` (on a WAN run, from its office)."""
    with from_office(delegation):
        await client.join()
    return client


async def all_decode(
    clients: Mapping[str, ParleyClient], since: float, within: float = 2.0, frames: int = 3
) -> float:
    """Wait until every client (by device name: A, B1, B2) has decoded `frames` video frames of every
    other one since `since` (time.monotonic()), the latest showing its pattern, at most `within` s
    after `since`: the picture back after an event (a key rotation, a rejoin, the press cut).
    Returns how long after `since` the last of them got there."""

    def behind() -> list[str]:
        """Who does not see whom yet, as "B2 -> A" (B2 does not decode A)."""
        return [
            f"{my_name} -> {name}"
            for my_name, me in clients.items()
            for name, other in clients.items()
            if other is not me
            and not (
                (feed := me.feeds.get(other.user_id)) is not None
                and sum(t > since for t in feed.video_times) >= frames
                and read_pattern(feed.video[-1]) == PATTERNS[name]
            )
        ]

    while (missing := behind()) and time.monotonic() < since + within:
        await asyncio.sleep(0.05)
    assert not missing, (
        f"not decoding again within {within} s: {', '.join(missing)}; {stats(clients, missing)}"
    )
    return time.monotonic() - since


def connected(client: ParleyClient, *others: ParleyClient) -> bool:
    """The client's own publishing connection and its subscriptions to `others` are up (ICE and DTLS
    done): what a device that joins must set up before any picture can flow."""
    pcs = [client.publisher, *((f.pc if (f := client.feeds.get(o.user_id)) else None) for o in others)]
    return all(pc is not None and pc.connectionState == "connected" for pc in pcs)


def stats(clients: Mapping[str, ParleyClient], pairs: Sequence[str]) -> str:
    """What happened to the video of each pair ("B2 -> A": B2's of A), for a failure's message."""
    found = []
    for pair in pairs:
        me, other = (clients[name] for name in pair.split(" -> "))
        feed = me.feeds.get(other.user_id)
        found.append(f"{pair}: {feed.stats.get('video') if feed else 'no feed'}")
    return "; ".join(found)


def unbroken(frames: Iterable[AudioFrame], count: int = 25) -> list[AudioFrame]:
    """The latest `count` frames that follow one another with nothing missing between them (by their
    RTP timestamps): an SDK device fills a lost packet (`parley.media.opus_concealment`) but not a
    pause, and a tone measured across a pause smears. Fewer if no such run is that long."""
    run: list[AudioFrame] = []
    for frame in frames:
        last = run[-1] if run else None
        if last is not None and (last.pts is None or frame.pts != last.pts + last.samples):
            run = []
        run = [*run[-count + 1 :], frame]
    return run


@contextlib.asynccontextmanager
async def joined(link: str, name: str) -> AsyncIterator[ParleyClient]:
    """Device `name` (A, B1, B2) joined; on a WAN run, from its delegation's namespace."""
    client = ParleyClient(
        link, [name], audio=ToneAudioTrack(TONES[name]), video=PatternVideoTrack(PATTERNS[name])
    )
    await join(client, f"Delegation {name[0]}")
    try:
        yield client
    finally:
        await client.close()


def record_plaintext(client: ParleyClient) -> set[bytes]:
    """From now on, every frame the client encrypts, as its encoder produced it (in the clear)."""
    assert client.member is not None
    member, plaintext = client.member, set()
    seal = member.encrypt

    def recording_seal(media: Media, frame: bytes) -> bytes | None:
        plaintext.add(frame)
        return seal(media, frame)

    member.encrypt = recording_seal  # type: ignore[method-assign]
    return plaintext


@dataclass
class Spied:
    """What a keyless subscriber at Janus got: the payloads as forwarded, and what decoded."""

    forwarded: list[bytes] = field(default_factory=list)
    video: list[VideoFrame] = field(default_factory=list)
    audio: list[AudioFrame] = field(default_factory=list)


@contextlib.asynccontextmanager
async def janus_spy(server: ParleyServer, room: int, feed: int) -> AsyncIterator[Spied]:
    """Subscribe to `feed` at Janus directly, with the server's own API access but no keys, and
    hand every forwarded payload to the decoders as it came: what the server could make of it.
    What Janus forwards accumulates in the yielded `Spied` until the block ends."""
    spied = Spied()
    async with await JanusClient.connect(server.media.url, server.janus.config.api_secret) as janus:
        session = await janus.create_session()
        spy = await VideoRoomSubscriber.attach(session)
        offer = await spy.join(room, [StreamRequest(feed=feed)])
        pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        readers: list[asyncio.Future[None]] = []

        def record(frame: bytes) -> bytes:
            spied.forwarded.append(frame)
            return frame  # no key, no decryption

        @pc.on("track")
        def on_track(track: MediaStreamTrack) -> None:
            receiver = next(r for r in pc.getReceivers() if r.track is track)
            attach_receiver_transform(receiver, record)
            readers.append(asyncio.ensure_future(_decode_all(track, spied)))

        await pc.setRemoteDescription(RTCSessionDescription(offer.sdp, "offer"))
        await pc.setLocalDescription(await pc.createAnswer())
        await spy.start(Jsep("answer", pc.localDescription.sdp, trickle=False))
        try:
            yield spied
        finally:
            await pc.close()
            for reader in readers:
                reader.cancel()


async def spy_at_janus(server: ParleyServer, room: int, feed: int, frames: int = 100) -> Spied:
    """What a keyless subscriber at Janus gets of `feed`: at least `frames` forwarded frames."""
    async with janus_spy(server, room, feed) as spied:
        await until(lambda: len(spied.forwarded) > frames, 20, "Janus to forward frames to the spy")
        await asyncio.sleep(1)
    return spied


async def assert_blind(
    server: ParleyServer, sender: ParleyClient, watcher: ParleyClient, pattern: int
) -> None:
    """The server cannot see `sender`'s media: a keyless subscriber at Janus gets none of its
    frames in the clear and decodes no picture, while `watcher`, with the keys, sees its `pattern`."""
    plaintext = record_plaintext(sender)
    spied = await spy_at_janus(server, sender.summit.channel_id, sender.user_id)
    assert spied.forwarded and plaintext
    assert not plaintext & set(spied.forwarded)  # no forwarded payload is a frame it produced in the clear
    assert spied.video == []  # VP8 cannot decode a single forwarded frame without the key
    assert receiving(watcher.feeds.get(sender.user_id), pattern)


async def _decode_all(track: MediaStreamTrack, spied: Spied) -> None:
    with contextlib.suppress(MediaStreamError):
        while True:
            frame = await track.recv()
            if isinstance(frame, VideoFrame):
                spied.video.append(frame)
            elif isinstance(frame, AudioFrame):
                spied.audio.append(frame)


RTP_PORTS = 200  # ~4 per PeerConnection with bundle and rtcp-mux; room for a few tests at once


def free_port(kind: socket.SocketKind) -> int:
    with socket.socket(socket.AF_INET, kind) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def free_udp_range(size: int) -> tuple[int, int]:
    """A block of UDP ports nothing is bound to now (RTP ports above the usual ephemeral range)."""
    for start in range(20000 + secrets.randbelow(150) * size, 60000 - size, size):
        socks: list[socket.socket] = []
        try:
            for port in range(start, start + size):
                socks.append(socket.socket(socket.AF_INET, socket.SOCK_DGRAM))
                socks[-1].bind(("127.0.0.1", port))
            return start, start + size - 1
        except OSError:
            continue
        finally:
            for sock in socks:
                sock.close()
    raise RuntimeError("no free block of UDP ports")


@contextlib.asynccontextmanager
async def local_server(
    data_dir: Path,
    *,
    test_hooks: bool = True,
    client_origins: Sequence[str] = (),
    web_dir: Path | None = None,
    **overrides: Any,
) -> AsyncIterator[ParleyServer]:
    """`parley serve` in this event loop on free ports: its own Janus, ICE on 127.0.1.1 only.

    Run inside scripts/netns. `test_hooks`: may the browser's test switches act (never in production)?
    `client_origins`: where delegations serve the browser client; `web_dir`: the client it serves.
    Other settings (parley.server.config.Settings) as keywords.
    """
    settings = load_settings(
        None,
        environ={},
        data_dir=data_dir,
        port=free_port(socket.SOCK_STREAM),
        janus_ws_port=free_port(socket.SOCK_STREAM),
        rtp_port_range=free_udp_range(RTP_PORTS),
        ice_enforce_list="127.",
        test_hooks=test_hooks,
        client_origins=list(client_origins),
        web_dir=web_dir,
        **overrides,
    )
    server = ParleyServer(settings)
    await server.start()
    try:
        yield server
    finally:
        await server.stop()
