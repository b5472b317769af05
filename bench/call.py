"""The secure call's costs, on loopback in an isolated network namespace.

Run: scripts/netns .venv/bin/python bench/call.py [--seconds S]

Prints one figure a line:
- join to first decrypted remote frame: an SDK client joins a summit where another device already
  publishes; from `join()` to the first video frame it decrypts (median of a few joins);
- the same in a certified summit (docs/identity.md): two officer consoles, the publishing one of
  them; each joining device enrolled once before, then timed as it comes back with its kept
  certificate (the officer's approval is a person's time, not the system's): what certificates,
  the per-epoch check and the attestations add to a join;
- client CPU with and without E2EE: two aiortc peers connected directly send 320x240 video and
  Opus for S seconds, once with DAVE frame encryption in the path and once without (same process,
  same run); CPU seconds of the process per second of call, and their ratio;
- latency the server path adds: per video frame, from the sender's encrypt to the receiver's
  decrypt (matched by the frame's hash, one clock), over Parley + Janus and over a direct link.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import statistics
import sys
import tempfile
import time
from functools import partial
from pathlib import Path

from aiortc import RTCConfiguration, RTCPeerConnection

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from calls import joined, local_server, summit_links, until
from certified import certified_summit, closing, enroll, officer_console, returning
from support import dave_members, join, new_group

from parley.media.frame_transform import FrameTransform, attach_receiver_transform, attach_sender_transform
from parley.media.sources import PatternVideoTrack, ToneAudioTrack, collect
from parley.sdk.client import ParleyClient
from parley.sdk.member import DaveMember, Media
from parley.summit.model import Role

Stamps = dict[bytes, float]


def _digest(frame: bytes) -> bytes:
    return hashlib.blake2b(frame, digest_size=16).digest()


def stamping(member: DaveMember, sent: Stamps, received: Stamps, sender: int) -> None:
    """Wrap a member's video encrypt and decrypt to note when each plaintext frame passes."""
    encrypt, decrypt = member.encrypt, member.decrypt

    def sealed(media: Media, frame: bytes) -> bytes | None:
        if media is Media.VIDEO:
            sent[_digest(frame)] = time.perf_counter()
        return encrypt(media, frame)

    def opened(source: int, media: Media, frame: bytes) -> bytes | None:
        plain = decrypt(source, media, frame)
        if plain is not None and media is Media.VIDEO and source == sender:
            received.setdefault(_digest(plain), time.perf_counter())
        return plain

    member.encrypt = sealed  # type: ignore[method-assign]
    member.decrypt = opened  # type: ignore[method-assign,assignment]


def latencies(sent: Stamps, received: Stamps) -> list[float]:
    return [received[k] - sent[k] for k in received if k in sent]


async def server_figures(seconds: float, joins: int) -> tuple[float, list[float]]:
    with tempfile.TemporaryDirectory() as tmp:
        async with local_server(Path(tmp) / "parley", test_hooks=False) as server:
            invites = [("Delegation A", Role.PRINCIPAL)] + [("Delegation B", Role.DELEGATE)] * joins
            links = summit_links(server, invites)
            async with joined(links[0], "A") as a:
                times = []
                for link in links[1:]:
                    b = ParleyClient(link, ["B"])  # receives only: what is measured is A's frames reaching it
                    start = time.perf_counter()
                    await b.join()
                    await until(partial(_decrypted, b, a.user_id), 20, "the first decrypted frame")
                    times.append(time.perf_counter() - start)
                    if link is not links[-1]:
                        await b.close()
                assert a.member is not None and b.member is not None
                sent: Stamps = {}
                received: Stamps = {}
                stamping(a.member, sent, received, a.user_id)
                stamping(b.member, sent, received, a.user_id)
                await asyncio.sleep(seconds)
                await b.close()
            return statistics.median(times), latencies(sent, received)


async def certified_join_time(joins: int) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        async with (
            local_server(Path(tmp) / "parley", test_hooks=False) as server,
            closing(certified_summit(server, Path(tmp) / "devices")) as summit,
        ):
            publisher = await officer_console(summit, "Delegation A", "Officer A", 3)
            officer_b = await officer_console(summit, "Delegation B", "Officer B", 5)
            times = []
            for n in range(joins):
                first = summit.client("Delegation B", f"B{n}", 7)
                await first.join()
                await enroll(officer_b, first)
                await first.leave()
                b = returning(summit, first)
                start = time.perf_counter()
                await b.join()
                await until(partial(_decrypted, b, publisher.user_id), 20, "the first decrypted frame")
                times.append(time.perf_counter() - start)
                await b.close()
            return statistics.median(times)


def _decrypted(client: ParleyClient, sender: int) -> bool:
    feed = client.feeds.get(sender)
    return feed is not None and "video" in feed.stats and feed.stats["video"].decrypted > 0


def _transform(member: DaveMember | None, media: Media, sender: int, receive: bool) -> FrameTransform | None:
    if member is None:
        return None
    if receive:
        return lambda frame: member.decrypt(sender, media, frame)
    return lambda frame: member.encrypt(media, frame)


async def direct_call(seconds: float, e2ee: bool) -> tuple[float, list[float], int]:
    """Two peers, no server: CPU seconds per call second, frame latencies, video frames decoded."""
    a, b = dave_members(1, 2)
    join(new_group()[1], a, b)
    sent: Stamps = {}
    received: Stamps = {}
    stamping(a, sent, received, 1)
    stamping(b, sent, received, 1)
    caller = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    callee = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    try:
        for track in (PatternVideoTrack(1), ToneAudioTrack(440.0)):
            sender = caller.addTrack(track)
            seal = _transform(a if e2ee else None, Media(sender.kind), 1, receive=False)
            if seal:
                attach_sender_transform(sender, seal)
        await caller.setLocalDescription(await caller.createOffer())
        await callee.setRemoteDescription(caller.localDescription)
        tracks = {}
        for transceiver in callee.getTransceivers():
            kind = transceiver.kind
            opener = _transform(b if e2ee else None, Media(kind), 1, receive=True)
            if opener:
                attach_receiver_transform(transceiver.receiver, opener)
            tracks[kind] = transceiver.receiver.track
        await callee.setLocalDescription(await callee.createAnswer())
        await caller.setRemoteDescription(callee.localDescription)
        await collect(tracks["video"], 1.0)  # warm up: ICE, DTLS, the first key frame
        cpu = time.process_time()
        video, _audio = await asyncio.gather(
            collect(tracks["video"], seconds), collect(tracks["audio"], seconds)
        )
        cpu_per_second = (time.process_time() - cpu) / seconds
        return cpu_per_second, latencies(sent, received), len(video)
    finally:
        await caller.close()
        await callee.close()


def ms(values: list[float]) -> str:
    return (
        f"{statistics.median(values) * 1000:.1f} ms (p90 {sorted(values)[int(len(values) * 0.9)] * 1000:.1f})"
    )


async def main(seconds: float, joins: int) -> None:
    join_time, via_server = await server_figures(seconds, joins)
    print(f"join to first decrypted remote frame: {join_time * 1000:.0f} ms (median of {joins} joins)")
    certified = await certified_join_time(joins)
    print(f"the same, certified: {certified * 1000:.0f} ms (median of {joins} joins)")
    print(f"join time certificates add: {(certified - join_time) * 1000:.0f} ms")
    plain_cpu, _, plain_frames = await direct_call(seconds, e2ee=False)
    e2ee_cpu, direct, e2ee_frames = await direct_call(seconds, e2ee=True)
    print(f"client CPU without E2EE: {plain_cpu:.3f} s/s ({plain_frames} video frames decoded)")
    print(f"client CPU with E2EE: {e2ee_cpu:.3f} s/s ({e2ee_frames} video frames decoded)")
    print(f"client CPU ratio with/without E2EE: {e2ee_cpu / plain_cpu:.3f}")
    print(f"frame latency, direct aiortc link: {ms(direct)}")
    print(f"frame latency, through Parley and Janus: {ms(via_server)}")
    server_s, direct_s = statistics.median(via_server), statistics.median(direct)
    added = (server_s - direct_s) * 1000
    print(f"latency the server path adds: {added:.1f} ms ({server_s / direct_s:.2f}x the direct link)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--seconds", type=float, default=8.0, help="length of each measured call")
    parser.add_argument("--joins", type=int, default=3, help="joins to time (median)")
    args = parser.parse_args()
    asyncio.run(main(args.seconds, args.joins))
