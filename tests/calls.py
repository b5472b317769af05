"""Helpers for the call tests: a summit with invite links, SDK clients with recognisable media."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import socket
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from parley.media.sources import PatternVideoTrack, ToneAudioTrack, read_pattern
from parley.sdk.client import ParleyClient, RemoteFeed
from parley.server.config import load_settings
from parley.server.runtime import ParleyServer
from parley.summit.course import Admission, AtEnd
from parley.summit.model import Role

PATTERNS = {"A": 3, "B1": 5, "B2": 9}
TONES = {"A": 440.0, "B1": 660.0, "B2": 880.0}
THREE_DEVICES = [
    ("Delegation A", Role.PRINCIPAL),
    ("Delegation B", Role.PRINCIPAL),
    ("Delegation B", Role.DELEGATE),
]


def summit_links(
    server: ParleyServer,
    invites: list[tuple[str, Role]],
    *,
    admission: Admission = Admission.OPEN,
    at_end: AtEnd = AtEnd.HARD_STOP,
    start: datetime | None = None,
    minutes: int = 120,
) -> list[str]:
    """A summit of two delegations and its invite links. No lobby unless `admission` says so."""
    store = server.store
    delegations = [("Delegation A", "en"), ("Delegation B", "ru")]
    summit = store.create_summit(
        "Integration summit", start or datetime.now(UTC), minutes, delegations, admission, at_end
    )
    return server.state.organiser.invite_all(summit, invites, timedelta(hours=1))


async def until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        await asyncio.sleep(0.1)


def receiving(feed: RemoteFeed | None, pattern: int, frames: int = 10) -> bool:
    """Enough decoded video from the feed, the latest frames showing its pattern, and audio."""
    if feed is None or feed.video_frames < frames or feed.audio_frames < 25:
        return False
    return all(read_pattern(f) == pattern for f in list(feed.video)[-3:])


@contextlib.asynccontextmanager
async def joined(link: str, name: str) -> AsyncIterator[ParleyClient]:
    client = ParleyClient(
        link, [name], audio=ToneAudioTrack(TONES[name]), video=PatternVideoTrack(PATTERNS[name])
    )
    await client.join()
    try:
        yield client
    finally:
        await client.close()


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
async def local_server(data_dir: Path, *, test_hooks: bool = True) -> AsyncIterator[ParleyServer]:
    """`parley serve` in this event loop on free ports: its own Janus, ICE on 127.0.1.1 only.

    Run inside scripts/netns. `test_hooks`: may the browser's test switches act (never in production)?
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
    )
    server = ParleyServer(settings)
    await server.start()
    try:
        yield server
    finally:
        await server.stop()
