"""Encrypted frames through real aiortc senders and receivers, with real DAVE members doing the crypto.

The first tests drive one sender's frame path directly (no sockets). The `network` tests run a whole call
between two RTCPeerConnections over 127.0.1.1; they only run inside the isolated test network
(`scripts/netns`), where nothing can leave the machine.
"""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import aiortc.codecs
import aiortc.rtcrtpreceiver
import aiortc.rtcrtpsender
import av
import pytest
from aiortc import (
    RTCCertificate,
    RTCConfiguration,
    RTCDtlsTransport,
    RTCIceGatherer,
    RTCIceTransport,
    RTCPeerConnection,
    RTCRtpReceiver,
    RTCRtpSender,
)
from aiortc.codecs.vpx import Vp8Encoder, vp8_depayload
from aiortc.rtcrtpparameters import RTCRtpCodecParameters
from support import dave_members, join, new_group

from parley.media import frame_transform
from parley.media.frame_transform import (
    AiortcMismatch,
    FrameStats,
    FrameTransform,
    SenderStats,
    attach_receiver_transform,
    attach_sender_transform,
)
from parley.media.recovery import is_vp8_keyframe
from parley.media.sources import (
    PatternVideoTrack,
    ToneAudioTrack,
    collect,
    dominant_frequency,
    read_pattern,
    samples_of,
)
from parley.sdk.member import DaveMember, Media

VP8 = RTCRtpCodecParameters(mimeType="video/VP8", clockRate=90000, payloadType=97)
OPUS = RTCRtpCodecParameters(mimeType="audio/opus", clockRate=48000, channels=2, payloadType=96)
PATTERN, TONE_HZ = 5, 697.0
MEDIA = {"audio": Media.AUDIO, "video": Media.VIDEO}


def group_of_two() -> tuple[DaveMember, DaveMember]:
    """Alice (1) and Bob (2) in one real DAVE group, both holding keys."""
    _, link = new_group()
    alice, bob = dave_members(1, 2)
    join(link, alice, bob)
    assert alice.can_send and bob.can_send
    return alice, bob


def dtls_transport() -> RTCDtlsTransport:
    """A transport that is never started: enough to build a sender and drive its frame path by hand."""
    gatherer = RTCIceGatherer(iceServers=[])
    return RTCDtlsTransport(RTCIceTransport(gatherer), [RTCCertificate.generateCertificate()])


# -- one sender's frame path, no sockets -------------------------------------------------------------


def test_each_vp8_frame_leaves_the_sender_sealed_and_opens_to_the_pattern() -> None:
    alice, bob = group_of_two()

    async def three_frames() -> tuple[list[bytes], SenderStats]:
        sender = RTCRtpSender(PatternVideoTrack(PATTERN), dtls_transport())
        stats = attach_sender_transform(sender, lambda frame: alice.encrypt(Media.VIDEO, frame))
        sealed = []
        for _ in range(3):
            encoded = await sender._next_encoded_frame(VP8)
            assert encoded is not None
            sealed.append(b"".join(vp8_depayload(p) for p in encoded.payloads))
        sender.track.stop()
        return sealed, stats

    sealed, stats = asyncio.run(three_frames())

    assert (stats.frames_in, stats.encrypted, stats.dropped) == (3, 3, 0)
    decoder = av.CodecContext.create("libvpx", "r")
    patterns = []
    for frame in sealed:
        plain = bob.decrypt(alice.user_id, Media.VIDEO, frame)
        assert plain is not None and plain != frame
        patterns += [
            read_pattern(f) for f in decoder.decode(av.Packet(plain)) if isinstance(f, av.VideoFrame)
        ]
    assert patterns == [PATTERN] * 3


def test_each_opus_frame_leaves_the_sender_sealed() -> None:
    alice, bob = group_of_two()

    async def frames() -> tuple[list[bytes], SenderStats]:
        sender = RTCRtpSender(ToneAudioTrack(TONE_HZ), dtls_transport())
        stats = attach_sender_transform(sender, lambda frame: alice.encrypt(Media.AUDIO, frame))
        sealed = []
        for _ in range(5):
            encoded = await sender._next_encoded_frame(OPUS)
            if encoded is not None:
                sealed += encoded.payloads
        sender.track.stop()
        return sealed, stats

    sealed, stats = asyncio.run(frames())

    assert sealed and stats.encrypted == len(sealed) and stats.dropped == 0
    assert all(bob.decrypt(alice.user_id, Media.AUDIO, s) is not None for s in sealed)


def test_a_sender_without_a_key_sends_no_frame() -> None:
    (alice,) = dave_members(1)  # never joined a group: no sending key

    async def fetch() -> tuple[list[object], SenderStats]:
        sender = RTCRtpSender(PatternVideoTrack(PATTERN), dtls_transport())
        stats = attach_sender_transform(sender, lambda frame: alice.encrypt(Media.VIDEO, frame))
        results: list[object] = [await sender._next_encoded_frame(VP8) for _ in range(3)]
        sender.track.stop()
        return results, stats

    results, stats = asyncio.run(fetch())

    assert results == [None, None, None]
    assert (stats.frames_in, stats.encrypted, stats.dropped) == (3, 0, 3)


def test_an_encoder_made_before_the_hook_is_refused_rather_than_sending_plaintext() -> None:
    async def fetch() -> None:
        sender = RTCRtpSender(PatternVideoTrack(PATTERN), dtls_transport())
        assert await sender._next_encoded_frame(VP8) is not None  # plain: no transform yet
        attach_sender_transform(sender, lambda frame: frame)
        try:
            with pytest.raises(AiortcMismatch, match="bypassed the encrypt hook"):
                await sender._next_encoded_frame(VP8)
        finally:
            sender.track.stop()

    asyncio.run(fetch())


def test_misuse_is_refused_with_the_rule() -> None:
    async def misuse() -> None:
        sender = RTCRtpSender(PatternVideoTrack(PATTERN), dtls_transport())
        attach_sender_transform(sender, lambda frame: frame)
        with pytest.raises(RuntimeError, match="already has a frame transform"):
            attach_sender_transform(sender, lambda frame: frame)
        sender.track.stop()

        started = RTCRtpSender("video", dtls_transport())
        started._RTCRtpSender__started = True  # type: ignore[attr-defined]
        with pytest.raises(RuntimeError, match="has started"):
            attach_sender_transform(started, lambda frame: frame)

        trackless = RTCRtpReceiver("video", dtls_transport())
        with pytest.raises(RuntimeError, match="once setRemoteDescription"):
            attach_receiver_transform(trackless, lambda frame: frame)

    asyncio.run(misuse())


def test_install_is_idempotent_and_leaves_codecs_without_a_transform_alone() -> None:
    frame_transform.install()
    frame_transform.install()
    encoder = vars(aiortc.rtcrtpsender)["get_encoder"](VP8)
    assert isinstance(encoder, Vp8Encoder) and "_packetize" not in vars(encoder)
    decoder = vars(aiortc.rtcrtpreceiver)["get_decoder"](VP8)
    assert "decode" not in vars(decoder)


def test_an_aiortc_that_no_longer_packetizes_through_the_hook_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def encode_elsewhere(self: Vp8Encoder, frame: av.VideoFrame, force_keyframe: bool = False) -> None:
        return None

    monkeypatch.setattr(Vp8Encoder, "encode", encode_elsewhere)
    monkeypatch.setitem(vars(aiortc.rtcrtpsender), "get_encoder", aiortc.codecs.get_encoder)
    with pytest.raises(AiortcMismatch, match=r"Vp8Encoder.encode no longer uses _packetize"):
        frame_transform.install()


# -- whole calls over the isolated network -----------------------------------------------------------


def isolated_network() -> bool:
    """True inside scripts/netns: no routes at all, and 127.0.1.1 on a non-loopback interface."""
    try:
        routes = Path("/proc/net/route").read_text().splitlines()[1:]
    except OSError:
        return False
    if routes:
        return False
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.bind(("127.0.1.1", 0))
        except OSError:
            return False
    return True


network = pytest.mark.skipif(
    not isolated_network(), reason="network test: run inside the isolated namespace (scripts/netns)"
)

Transform = Callable[[Media, bytes], bytes | None]


def for_media(transform: Transform, media: Media) -> FrameTransform:
    return lambda frame: transform(media, frame)


@dataclass
class Call:
    video: list[av.VideoFrame]
    audio: list[av.AudioFrame]
    sent: dict[str, SenderStats]
    received: dict[str, FrameStats]


async def call(encrypt: Transform, decrypt: Transform, seconds: float) -> Call:
    """Caller sends a pattern and a tone through `encrypt`; callee decrypts with `decrypt` for `seconds`."""
    # No ICE servers: aiortc would otherwise add a public STUN server.
    caller = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    callee = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    try:
        sent = {}
        for track in (PatternVideoTrack(PATTERN), ToneAudioTrack(TONE_HZ)):
            sender = caller.addTrack(track)
            media = MEDIA[sender.kind]
            sent[sender.kind] = attach_sender_transform(sender, for_media(encrypt, media))

        await caller.setLocalDescription(await caller.createOffer())
        await callee.setRemoteDescription(caller.localDescription)
        received, tracks = {}, {}
        for transceiver in callee.getTransceivers():
            receiver, media = transceiver.receiver, MEDIA[transceiver.kind]
            received[transceiver.kind] = attach_receiver_transform(receiver, for_media(decrypt, media))
            tracks[transceiver.kind] = receiver.track
        await callee.setLocalDescription(await callee.createAnswer())
        await caller.setRemoteDescription(callee.localDescription)

        video, audio = await asyncio.gather(
            collect(tracks["video"], seconds), collect(tracks["audio"], seconds)
        )
        return Call(
            video=[f for f in video if isinstance(f, av.VideoFrame)],
            audio=[f for f in audio if isinstance(f, av.AudioFrame)],
            sent=sent,
            received=received,
        )
    finally:
        await caller.close()
        await callee.close()


@network
def test_network_call_decrypts_to_the_right_pattern_and_tone() -> None:
    alice, bob = group_of_two()

    result = asyncio.run(
        call(alice.encrypt, lambda media, frame: bob.decrypt(alice.user_id, media, frame), seconds=4)
    )

    assert len(result.video) >= 10
    assert {read_pattern(f) for f in result.video} == {PATTERN}
    samples = samples_of(result.audio)
    assert len(samples) >= 48_000  # at least a second of sound
    assert abs(dominant_frequency(samples[9600:], 48_000) - TONE_HZ) < 3
    for kind, stats in result.received.items():
        assert stats.decrypted > 0 and stats.failed == 0, (kind, stats)
        assert stats.frames_in == stats.decrypted
        assert result.sent[kind].encrypted >= stats.decrypted and result.sent[kind].dropped == 0


@network
def test_network_call_with_the_wrong_groups_key_decodes_nothing() -> None:
    alice, _ = group_of_two()
    _, impostor_bob = group_of_two()  # same user ids, another group: other keys

    result = asyncio.run(
        call(alice.encrypt, lambda media, frame: impostor_bob.decrypt(alice.user_id, media, frame), seconds=3)
    )

    assert result.video == [] and result.audio == []
    for kind, stats in result.received.items():
        assert stats.failed > 0 and stats.decrypted == 0, (kind, stats)


@network
def test_network_call_from_a_sender_without_a_key_delivers_nothing() -> None:
    alice, bob = group_of_two()

    result = asyncio.run(
        call(
            lambda media, frame: None,
            lambda media, frame: bob.decrypt(alice.user_id, media, frame),
            seconds=3,
        )
    )

    assert result.video == [] and result.audio == []
    for kind in ("audio", "video"):
        assert result.sent[kind].frames_in > 0 and result.sent[kind].encrypted == 0
        assert result.received[kind].frames_in == 0


@network
def test_network_call_that_misses_frames_asks_for_a_keyframe_and_gets_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    alice, bob = group_of_two()
    started = time.monotonic()
    asked: list[float] = []  # when the sender was asked for a keyframe (a PLI or FIR arrived)
    keyframes: list[float] = []  # when it encoded one
    send_keyframe = RTCRtpSender._send_keyframe

    def observed_send_keyframe(self: RTCRtpSender) -> None:
        asked.append(time.monotonic() - started)
        send_keyframe(self)

    monkeypatch.setattr(RTCRtpSender, "_send_keyframe", observed_send_keyframe)

    def encrypt(media: Media, frame: bytes) -> bytes | None:
        if media is Media.VIDEO and is_vp8_keyframe(frame):
            keyframes.append(time.monotonic() - started)
        return alice.encrypt(media, frame)

    def decrypt(media: Media, frame: bytes) -> bytes | None:
        if media is Media.VIDEO and 1.5 <= time.monotonic() - started < 2.0:
            return None  # half a second of frames that do not decrypt (a key this device lacks)
        return bob.decrypt(alice.user_id, media, frame)

    result = asyncio.run(call(encrypt, decrypt, seconds=4))

    stats = result.received["video"]
    assert stats.failed > 0 and stats.keyframe_requests > 0, stats
    assert any(t >= 1.5 for t in asked), asked  # the receiver's PLI reached the sender
    first_ask = min(t for t in asked if t >= 1.5)
    assert any(first_ask <= t for t in keyframes), (asked, keyframes)  # which answered with a keyframe
    assert {read_pattern(f) for f in result.video} == {PATTERN}  # and no broken picture was shown
