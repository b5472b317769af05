"""Encoded-frame hooks for aiortc: encrypt every frame a sender encodes, decrypt every frame a receiver
reassembles, so DAVE can sit between the codec and RTP as RTCRtpScriptTransform does in a browser.

aiortc (pinned: 1.16) has no encoded-frame API. It does create its codecs through module-level factories
that it looks up at call time, `aiortc.rtcrtpsender.get_encoder` and `aiortc.rtcrtpreceiver.get_decoder`.
`install()` replaces both with factories that wrap the codec for a sender or receiver that has a transform
attached, and hand out aiortc's own codec untouched to everyone else.

Where the hooks sit:
- VP8 sender: the encoder's `_packetize(buffer, picture_id)` receives the whole encoded frame (both from
  `encode()` and `pack()`); the wrapper encrypts the buffer, then lets aiortc split it into RTP payloads.
- Opus sender: `encode()` and `pack()` return one payload per Opus packet; each is encrypted whole.
- Receiver (any codec): `decode(JitterFrame)` gets the reassembled frame; the wrapper decrypts
  `JitterFrame.data` first. It runs in the receiver's decoder thread.
A frame the sender's callable turns into None (no key yet) is not sent. A frame the receiver's callable
cannot decrypt is dropped, never decoded: VP8 would merely fail, but aiortc's Opus decoder turns
ciphertext into noise, so authenticity has to come from the AES-GCM tag, never from the decoder.
A video receiver also keeps its picture whole (`parley.media.recovery`): its NACK generator and jitter
buffer are replaced by ones that ask again for a missing packet and give it up in time; after a frame
that was given up, did not decrypt or did not decode, it decodes no delta frame until a keyframe, and
asks for one (a PLI, rate-limited). Opus senders get in-band FEC; an Opus receiver plays on through
loss: its jitter buffer stops waiting for a packet once later ones are due to play (audio is not sent
again), and its decoder fills the gap from the next packet's FEC or by concealment
(`parley.media.opus_concealment`).

Which sender or receiver is asking? The factories see only codec parameters, and one process can hold many
peer connections, each client with its own DaveMember. The association follows the one execution unit
aiortc dedicates to each object:
- Sender: `attach_sender_transform` wraps that sender's `_next_encoded_frame` (an instance attribute, so
  only this sender is touched; `_run_rtp` looks it up for every frame). The wrapper sets a context variable
  to the sender's hook while aiortc fetches and encodes the frame; `get_encoder` runs inside that call, in
  the sender's own RTP task, and reads it. Tasks never share a context, so concurrent senders cannot see
  each other's hook. The wrapper also checks that each frame it hands to `_run_rtp` is exactly the payload
  list the encrypt hook produced, and raises otherwise: if a change in aiortc ever routed frames around the
  hook, the sender stops instead of sending plaintext.
- Receiver: aiortc decodes in one thread per receiver and calls `get_decoder` from it. The factory finds
  the attached receiver whose decoder thread is the current thread (a weak-keyed registry: a closed peer
  connection frees it). Threads do not inherit context variables, hence the different key.
Both kinds must be attached before the connection starts them (a sender before its first frame, a
receiver before its decoder thread): later would mean plaintext already sent, or a decoder already made.

These lean on aiortc internals; `install()` checks each assumption against aiortc's code objects and raises
`AiortcMismatch` if one no longer holds, so an upgrade fails loudly rather than silently unencrypted.
"""

from __future__ import annotations

import contextvars
import logging
import threading
import time
import weakref
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

import aiortc.codecs
import aiortc.rtcrtpreceiver
import aiortc.rtcrtpsender
import av
from aiortc import RTCRtpReceiver, RTCRtpSender
from aiortc.codecs.base import Decoder, Encoder
from aiortc.codecs.opus import OpusEncoder
from aiortc.codecs.vpx import Vp8Encoder
from aiortc.jitterbuffer import JitterBuffer, JitterFrame
from aiortc.rtcrtpparameters import RTCRtpCodecParameters
from aiortc.rtcrtpreceiver import NackGenerator
from aiortc.rtcrtpsender import RTCEncodedFrame
from aiortc.rtp import RtpPacket
from aiortc.utils import uint16_add, uint16_gt
from av.frame import Frame
from av.packet import Packet

from parley.media.opus_concealment import ConcealingOpusDecoder
from parley.media.recovery import (
    Action,
    GapPatience,
    KeyframeRequests,
    Resends,
    is_vp8_keyframe,
    starts_vp8_frame,
)

__all__ = [
    "AiortcMismatch",
    "FrameStats",
    "FrameTransform",
    "SenderStats",
    "attach_receiver_transform",
    "attach_sender_transform",
    "install",
    "send_keyframe",
]

logger = logging.getLogger(__name__)

FrameTransform = Callable[[bytes], bytes | None]
"""Encrypt or decrypt one whole encoded frame; None means: do not send it / do not decode it."""

# The codecs DAVE's frame format covers in Parley (libdave keeps codec-specific bytes in the clear).
SUPPORTED_CODECS = frozenset({"opus", "vp8"})

_SENDER_STARTED = "_RTCRtpSender__started"
_DECODER_THREAD = "_RTCRtpReceiver__decoder_thread"
_RECEIVER_STARTED = "_RTCRtpReceiver__started"
_JITTER_BUFFER = "_RTCRtpReceiver__jitter_buffer"
_NACK_GENERATOR = "_RTCRtpReceiver__nack_generator"
_DECODER_ERROR = "_RTCRtpReceiver__decoder_error"  # a threading.Event: set, the next RTP packet sends a PLI

_aiortc_get_encoder = aiortc.codecs.get_encoder
_aiortc_get_decoder = aiortc.codecs.get_decoder
# The module globals the sender and receiver look their factories up in (they import, not export, them).
_sender_globals = vars(aiortc.rtcrtpsender)
_receiver_globals = vars(aiortc.rtcrtpreceiver)


class AiortcMismatch(RuntimeError):
    """aiortc no longer works the way these hooks assume; frames could bypass encryption, so refuse."""


@dataclass
class SenderStats:
    """What one sender's encrypt hook did. Counters are written from aiortc's encoder thread."""

    kind: str
    frames_in: int = 0
    encrypted: int = 0
    dropped: int = 0  # the callable returned None (no key yet) or raised: nothing was sent


@dataclass
class FrameStats:
    """What one receiver's decrypt hook did. Counters are written from the receiver's decoder thread."""

    kind: str
    frames_in: int = 0
    decrypted: int = 0
    failed: int = 0  # did not decrypt (wrong key, tampered, garbage): dropped before the decoder
    undecodable: int = 0  # decrypted but rejected by the decoder
    # Audio only (parley.media.opus_concealment):
    concealed: float = 0.0  # s of audio filled in for packets lost or dropped
    # Video only (parley.media.recovery):
    skipped: int = 0  # decrypted delta frames not decoded while waiting for a keyframe
    keyframe_requests: int = 0  # picture loss indications this receiver asked for
    lost: int = 0  # times the jitter buffer gave up on a missing packet and dropped its frame


def install() -> None:
    """Put the wrapping codec factories in place (idempotent); the attach functions call it themselves."""
    if (
        _sender_globals.get("get_encoder") is _get_encoder
        and _receiver_globals.get("get_decoder") is _get_decoder
    ):
        return
    _check_aiortc()
    _sender_globals["get_encoder"] = _get_encoder
    _receiver_globals["get_decoder"] = _get_decoder


def attach_sender_transform(sender: RTCRtpSender, encrypt: FrameTransform) -> SenderStats:
    """Pass every frame this sender encodes through `encrypt` before packetization.

    Called by whoever owns the sender's keys, once, right after `addTrack`/`addTransceiver`: before
    negotiation starts the sender, or frames would already have gone out in the clear. `sender.kind`
    says whether `encrypt` gets Opus or VP8 frames. Frames it maps to None are not sent.
    """
    install()
    if getattr(sender, _SENDER_STARTED):
        raise RuntimeError(
            "Cannot attach a frame transform to a sender that has started: frames went out unencrypted"
        )
    if isinstance(sender.__dict__.get("_next_encoded_frame"), _SenderFrameHook):
        raise RuntimeError("This sender already has a frame transform")
    stats = SenderStats(kind=sender.kind)
    hook = _SenderHook(encrypt, stats)
    sender._next_encoded_frame = _SenderFrameHook(sender._next_encoded_frame, hook)  # type: ignore[method-assign]
    logger.debug("frame transform attached to %s sender", sender.kind)
    return stats


def send_keyframe(sender: RTCRtpSender) -> None:
    """Make this video sender's next frame a keyframe, as a PLI would (requests between two frames
    make one keyframe). For a request that does not come through RTCP: Parley's server asks a
    publisher when a subscription to it comes up."""
    install()
    sender._send_keyframe()


def attach_receiver_transform(
    receiver: RTCRtpReceiver, decrypt: FrameTransform, *, round_trip: float | None = None
) -> FrameStats:
    """Pass every frame this receiver reassembles through `decrypt` before decoding; drop failures.

    Called by whoever owns the receiving keys, once, after `setRemoteDescription` has created the receiver's
    track (in the peer connection's "track" event, say) and before the connection is up. `receiver.track.kind`
    says whether `decrypt` gets Opus or VP8 frames; it runs in the receiver's decoder thread.
    `round_trip` (s): the path's round trip as the caller measured it (its signalling connection's), how long
    a resend takes until resends time it (`parley.media.recovery.Resends`).
    """
    install()
    if getattr(receiver, _RECEIVER_STARTED):
        raise RuntimeError("Cannot attach a frame transform to a receiver that has started decoding")
    kind = getattr(receiver.track, "kind", None)
    if kind not in ("audio", "video"):
        raise RuntimeError("Attach a receiver transform once setRemoteDescription has created its track")
    with _receivers_lock:
        if receiver in _receivers:
            raise RuntimeError("This receiver already has a frame transform")
        stats = FrameStats(kind=kind)
        _receivers[receiver] = _ReceiverHook(decrypt, stats)
    if kind == "video":
        resends = Resends(rtt=round_trip)
        capacity = getattr(receiver, _JITTER_BUFFER).capacity
        setattr(receiver, _JITTER_BUFFER, _RecoveringJitterBuffer(capacity, resends))
        setattr(receiver, _NACK_GENERATOR, _ResendingNackGenerator(resends))
    else:
        aiortc_buffer = getattr(receiver, _JITTER_BUFFER)
        setattr(
            receiver,
            _JITTER_BUFFER,
            _PromptAudioJitterBuffer(aiortc_buffer.capacity, aiortc_buffer._prefetch),
        )
    logger.debug("frame transform attached to %s receiver", kind)
    return stats


# -- sender ------------------------------------------------------------------------------------------


@dataclass
class _SenderHook:
    encrypt: FrameTransform
    stats: SenderStats
    # The payload list the hook produced for the frame being fetched now: the proof that it passed.
    sealed_payloads: list[bytes] | None = field(default=None)

    def seal(self, frame: bytes) -> bytes | None:
        self.stats.frames_in += 1
        try:
            sealed = self.encrypt(frame)
        except Exception as exc:  # a broken callable must not take the frame out in the clear
            logger.warning(
                "%s frame encryption raised %s; frame dropped", self.stats.kind, type(exc).__name__
            )
            sealed = None
        if sealed is None:
            self.stats.dropped += 1
        else:
            self.stats.encrypted += 1
        return sealed

    def wrap(self, encoder: Encoder, codec: RTCRtpCodecParameters) -> Encoder:
        """Hook this sender's fresh encoder where it holds whole encoded frames."""
        if isinstance(encoder, Vp8Encoder):
            _hook_vp8(encoder, self)
        elif isinstance(encoder, OpusEncoder):
            _enable_opus_fec(encoder)
            _hook_opus(encoder, self)
        else:
            raise ValueError(f"Frame transforms support {sorted(SUPPORTED_CODECS)}, not {codec.mimeType}")
        return encoder


_sender_hook: contextvars.ContextVar[_SenderHook | None] = contextvars.ContextVar(
    "parley_sender_frame_hook", default=None
)


class _SenderFrameHook:
    """Stands in for one sender's `_next_encoded_frame`: names the hook for `get_encoder`, checks results."""

    def __init__(
        self,
        fetch: Callable[[RTCRtpCodecParameters], Coroutine[Any, Any, RTCEncodedFrame | None]],
        hook: _SenderHook,
    ) -> None:
        self._fetch = fetch
        self._hook = hook

    async def __call__(self, codec: RTCRtpCodecParameters) -> RTCEncodedFrame | None:
        self._hook.sealed_payloads = None
        token = _sender_hook.set(self._hook)
        try:
            frame = await self._fetch(codec)
        finally:
            _sender_hook.reset(token)
        if frame is not None and frame.payloads is not self._hook.sealed_payloads:
            # Raising stops this sender (aiortc logs it): better silence than a frame in the clear.
            raise AiortcMismatch(
                "aiortc produced a frame that bypassed the encrypt hook; refusing to send it"
            )
        return frame


def _get_encoder(codec: RTCRtpCodecParameters) -> Encoder:
    """Replaces `aiortc.rtcrtpsender.get_encoder`; called from a sender's RTP task."""
    encoder = _aiortc_get_encoder(codec)
    hook = _sender_hook.get()
    return encoder if hook is None else hook.wrap(encoder, codec)


def _hook_vp8(encoder: Vp8Encoder, hook: _SenderHook) -> None:
    packetize = encoder._packetize  # the classmethod, bound

    def sealed_packetize(buffer: bytes, picture_id: int) -> list[bytes]:
        if not buffer:  # the encoder dropped this frame (rate control): nothing to seal or send
            return packetize(buffer, picture_id)
        sealed = hook.seal(buffer)
        payloads = [] if sealed is None else packetize(sealed, picture_id)
        hook.sealed_payloads = payloads
        return payloads

    encoder._packetize = sealed_packetize  # type: ignore[method-assign]


OPUS_EXPECTED_LOSS = 5  # %: how much loss libopus sizes its in-band FEC for


def _enable_opus_fec(encoder: OpusEncoder) -> None:
    """Opus in-band FEC: each packet also carries a low-rate copy of the one before, so a receiver that
    loses one packet rebuilds it from the next (browsers' NetEq does; every browser offers
    useinbandfec=1). aiortc leaves it off. Measured with this libopus at aiortc's 96 kbit/s: the encoder
    moves from CELT-only to hybrid mode and packets grow by about a fifth. The FEC bits sit inside the
    frame, so they are encrypted with it; the codec opens on the first frame, so options set now apply."""
    encoder.codec.options = {**encoder.codec.options, "fec": "1", "packet_loss": str(OPUS_EXPECTED_LOSS)}


def _hook_opus(encoder: OpusEncoder, hook: _SenderHook) -> None:
    encode, pack = encoder.encode, encoder.pack

    def seal_all(result: tuple[list[bytes], int]) -> tuple[list[bytes], int]:
        payloads, timestamp = result
        sealed = [s for s in map(hook.seal, payloads) if s is not None]
        hook.sealed_payloads = sealed
        return sealed, timestamp

    def sealed_encode(frame: Frame, force_keyframe: bool = False) -> tuple[list[bytes], int]:
        return seal_all(encode(frame, force_keyframe))

    def sealed_pack(packet: Packet[Any]) -> tuple[list[bytes], int]:
        return seal_all(pack(packet))

    encoder.encode = sealed_encode  # type: ignore[method-assign]
    encoder.pack = sealed_pack  # type: ignore[method-assign]


# -- receiver ----------------------------------------------------------------------------------------


@dataclass
class _ReceiverHook:
    decrypt: FrameTransform
    stats: FrameStats

    def wrap(self, decoder: Decoder, codec: RTCRtpCodecParameters, receiver: RTCRtpReceiver) -> Decoder:
        """Hook this receiver's fresh decoder: decrypt each reassembled frame, drop what fails; for
        video, also keep the picture whole (`parley.media.recovery`)."""
        name = codec.name.lower()
        if name not in SUPPORTED_CODECS:
            raise ValueError(f"Frame transforms support {sorted(SUPPORTED_CODECS)}, not {codec.mimeType}")
        decode = decoder.decode
        keyframes = _Keyframes(receiver, self.stats) if name == "vp8" else None

        def opened_decode(encoded_frame: JitterFrame) -> list[Frame]:
            if keyframes is not None and isinstance(encoded_frame, _FrameAfterLoss):
                keyframes.frame_lost()
            self.stats.frames_in += 1
            try:
                plain = self.decrypt(encoded_frame.data)
            except Exception as exc:
                logger.warning("%s frame decryption raised %s", self.stats.kind, type(exc).__name__)
                plain = None
            if plain is None:
                self.stats.failed += 1
                if keyframes is not None:
                    keyframes.decrypt_failed()
                return []
            self.stats.decrypted += 1
            encoded_frame.data = plain
            return decode(encoded_frame) if keyframes is None else keyframes.decode(decode, encoded_frame)

        decoder.decode = opened_decode  # type: ignore[method-assign]
        return decoder


class _Keyframes:
    """The shell around one video receiver's `KeyframeRequests`: runs in its decoder thread, asks for a
    keyframe the way aiortc does after a decode error (the receiver's decoder-error event, which makes its
    next RTP packet send a PLI), and keeps the decoder from painting delta frames on a broken picture."""

    def __init__(self, receiver: RTCRtpReceiver, stats: FrameStats) -> None:
        self._ask = getattr(receiver, _DECODER_ERROR)
        self._stats = stats
        self._core = KeyframeRequests()

    def frame_lost(self) -> None:
        self._stats.lost += 1
        self._core.frame_lost(time.monotonic())
        self._flush()

    def decrypt_failed(self) -> None:
        self._core.decrypt_failed(time.monotonic())
        self._flush()

    def decode(self, decode: Callable[[JitterFrame], list[Frame]], frame: JitterFrame) -> list[Frame]:
        keyframe = is_vp8_keyframe(frame.data)
        if self._core.decrypted(time.monotonic(), keyframe=keyframe) is Action.SKIP:
            self._stats.skipped += 1
            self._flush()
            return []
        try:
            frames = decode(frame)
        except av.FFmpegError as exc:
            self._stats.undecodable += 1
            logger.debug("video frame failed to decode (%s); asking for a keyframe", exc)
            self._core.decode_failed(time.monotonic())
            self._flush()
            return []
        self._core.decoded(keyframe=keyframe)
        return frames

    def _flush(self) -> None:
        if self._core.take_request():
            self._stats.keyframe_requests += 1
            self._ask.set()


class _ResendingNackGenerator(NackGenerator):
    """aiortc's NACK generator, except that it asks again for a packet still missing
    (`parley.media.recovery.Resends`) instead of only once, when its hole appears, and stops asking
    once the jitter buffer has given up on it. aiortc sends the NACK (every packet in `missing`)
    whenever `add` returns True. Runs on the event loop, in the receiver's RTP handler."""

    def __init__(self, resends: Resends, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        self._resends = resends
        self._clock = clock

    def add(self, packet: RtpPacket) -> bool:
        now = self._clock()
        self._resends.arrived(packet.sequence_number, now)
        missed = super().add(packet)
        self.missing.difference_update(self._resends.given_up(now))
        if not self.missing or not (missed or self._resends.due(now)):
            return False
        self._resends.asked(self.missing, now)
        return True


class _FrameAfterLoss(JitterFrame):
    """The first frame a jitter buffer hands out after dropping one it could not complete."""


class _RecoveringJitterBuffer(JitterBuffer):
    """aiortc's video jitter buffer, except that it stops waiting for a packet that does not come
    (`parley.media.recovery.GapPatience`): it drops the frames up to the next one that starts after the
    hole and marks the next frame it hands out, so the decoder asks for a keyframe. A whole keyframe
    after the hole is handed out at once (one sent again, say, while the first lost a packet). Early in
    a stream, while Janus may keep nothing to resend, and on a long path once a resend is overdue, a
    hole also asks for a keyframe while it waits (`GapPatience.hurry`, `Resends.hurry_after`). Runs on
    the event loop, in the receiver's RTP handler."""

    def __init__(self, capacity: int, resends: Resends, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__(capacity, is_video=True)
        self._resends = resends
        self._clock = clock
        self._newest: int | None = None
        self._patience = GapPatience()
        self._dropped = False

    def add(self, packet: RtpPacket) -> tuple[bool, JitterFrame | None]:
        if self._newest is None or uint16_gt(packet.sequence_number, self._newest):
            self._newest = packet.sequence_number
        pli, frame = super().add(packet)
        if frame is None:
            hole = self._hole()
            if hole is None:
                self._patience.flowing()
            elif (keyframe := self._whole_keyframe_after(hole)) is not None:
                self.remove(keyframe)  # what the hole held back is of no use once a keyframe is here
                frame = self._remove_frame(packet.sequence_number)
            elif self._patience.held(now := self._clock(), self._resends.patience) and self._skip(hole):
                self._dropped = True
                frame = self._remove_frame(packet.sequence_number)
            elif self._patience.hurry(now, self._resends.hurry_after(now)):
                pli = True  # aiortc sends a PLI
        if frame is None:
            return pli, None
        self._patience.flowing()
        if self._dropped:
            self._dropped = False
            frame = _FrameAfterLoss(frame.data, frame.timestamp)
        return pli, frame

    def _hole(self) -> int | None:
        """How far after the origin the first missing packet is, if packets follow it."""
        if self._origin is None or self._newest is None:
            return None
        span = min(uint16_add(self._newest, -self._origin), self.capacity)
        for i in range(span):
            if self._packets[(self._origin + i) % self.capacity] is None:
                return i
        return None

    def _whole_keyframe_after(self, hole: int) -> int | None:
        """How far after the origin a keyframe starts, after the hole, with all its packets and one of
        the frame after it (aiortc hands a frame out when the next one begins). Its first bytes are in
        the clear (DAVE leaves a VP8 frame's header unencrypted)."""
        assert self._origin is not None and self._newest is not None
        span = min(uint16_add(self._newest, -self._origin) + 1, self.capacity)
        start: int | None = None
        for i in range(hole + 1, span):
            packet = self._packets[(self._origin + i) % self.capacity]
            if packet is None:
                start = None
            elif start is None:
                if starts_vp8_frame(packet.payload) and is_vp8_keyframe(packet._data):  # type: ignore[attr-defined]
                    start, timestamp = i, packet.timestamp
            elif packet.timestamp != timestamp:
                return start
        return None

    def _skip(self, hole: int) -> bool:
        """Drop everything before the first frame that starts after the hole; False if none has yet."""
        assert self._origin is not None and self._newest is not None
        span = min(uint16_add(self._newest, -self._origin) + 1, self.capacity)
        for i in range(hole + 1, span):
            packet = self._packets[(self._origin + i) % self.capacity]
            if packet is not None and starts_vp8_frame(packet.payload):
                self.remove(i)
                return True
        return False


class _PromptAudioJitterBuffer(JitterBuffer):
    """aiortc's audio jitter buffer, except that it plays on past a missing packet. aiortc's waits for
    it until the buffer overflows, 16 packets (a third of a second of silence) later; but nobody sends
    audio again, so a packet that has not come once `prefetch` later ones have (the reordering aiortc
    already allows) is lost: this one hands out the next packet instead, and the decoder fills the gap.
    An Opus RTP packet is one frame (RFC 7587). Runs on the event loop, in the receiver's RTP handler."""

    def _remove_frame(self, sequence_number: int) -> JitterFrame | None:
        assert self._origin is not None
        slots = [(self._origin + i) % self.capacity for i in range(self.capacity)]
        present = [i for i, slot in enumerate(slots) if self._packets[slot] is not None]
        if len(present) <= self._prefetch:
            return None
        packet = self._packets[slots[present[0]]]
        assert packet is not None
        self.remove(present[0] + 1)
        return JitterFrame(data=packet._data, timestamp=packet.timestamp)  # type: ignore[attr-defined]


_receivers: weakref.WeakKeyDictionary[RTCRtpReceiver, _ReceiverHook] = weakref.WeakKeyDictionary()
_receivers_lock = threading.Lock()  # attach runs on the event loop, lookups in decoder threads


def _get_decoder(codec: RTCRtpCodecParameters) -> Decoder:
    """Replaces `aiortc.rtcrtpreceiver.get_decoder`; called from a receiver's decoder thread."""
    current = threading.current_thread()
    with _receivers_lock:
        hooks = [(r, h) for r, h in _receivers.items() if getattr(r, _DECODER_THREAD, None) is current]
    if not hooks:
        return _aiortc_get_decoder(codec)
    ((receiver, hook),) = hooks
    opus = codec.name.lower() == "opus"
    decoder = ConcealingOpusDecoder(hook.stats) if opus else _aiortc_get_decoder(codec)
    return hook.wrap(decoder, codec, receiver)


# -- pinned aiortc internals -------------------------------------------------------------------------


def _check_aiortc() -> None:
    """Each assumption the hooks make, checked against aiortc's code objects (names each function uses)."""

    def uses(owner: object, name: str, *names: str) -> None:
        code = getattr(getattr(owner, name, None), "__code__", None)
        missing = [n for n in names if code is None or n not in code.co_names]
        if missing:
            where = f"{getattr(owner, '__name__', owner)}.{name}"
            raise AiortcMismatch(
                f"aiortc {aiortc.__version__}: {where} no longer uses {', '.join(missing)}; "
                "the frame transform hooks need revisiting"
            )

    # Sender: `send` starts `_run_rtp`, which calls `self._next_encoded_frame`, which calls the module's
    # `get_encoder`; VP8's `encode` and `pack` hand the whole frame to `_packetize`.
    uses(RTCRtpSender, "send", _SENDER_STARTED, "_run_rtp")
    uses(RTCRtpSender, "_run_rtp", "_next_encoded_frame")
    uses(RTCRtpSender, "_next_encoded_frame", "get_encoder", "encode", "pack")
    # `_send_keyframe` (what a PLI or FIR calls) makes the next encode a keyframe.
    uses(RTCRtpSender, "_send_keyframe", "_RTCRtpSender__force_keyframe")
    uses(Vp8Encoder, "encode", "_packetize")
    uses(Vp8Encoder, "pack", "_packetize")
    # Receiver: `receive` starts `decoder_worker` in a thread it keeps; the worker calls the module's
    # `get_decoder` and then `decode`.
    uses(RTCRtpReceiver, "receive", _RECEIVER_STARTED, _DECODER_THREAD, "decoder_worker")
    uses(aiortc.rtcrtpreceiver, "decoder_worker", "get_decoder", "decode")
    # Keyframe requests: a set decoder-error event makes the next RTP packet send a PLI.
    uses(RTCRtpReceiver, "__init__", _DECODER_ERROR)
    uses(RTCRtpReceiver, "_handle_rtp_packet", _DECODER_ERROR, "_send_rtcp_pli", _JITTER_BUFFER, "add")
    uses(RTCRtpReceiver, "__init__", _JITTER_BUFFER, _NACK_GENERATOR)
    # Resending NACKs: aiortc NACKs `missing` whenever the generator's `add` returns True.
    uses(RTCRtpReceiver, "_handle_rtp_packet", _NACK_GENERATOR, "_send_rtcp_nack", "missing")
    # The recovering jitter buffer: `add` assembles frames in `_remove_frame` from `_packets` at `_origin`.
    uses(JitterBuffer, "add", "_remove_frame", "_origin", "_packets")
    uses(JitterBuffer, "remove", "_origin", "_packets")
    # The prompt audio jitter buffer: the receiver makes it with a `prefetch`, which `_remove_frame` heeds.
    uses(JitterBuffer, "__init__", "_prefetch", "_packets", "_origin")
    uses(JitterBuffer, "_remove_frame", "_prefetch")
    if "get_encoder" not in _sender_globals or "get_decoder" not in _receiver_globals:
        raise AiortcMismatch(f"aiortc {aiortc.__version__} no longer looks its codec factories up by module")
