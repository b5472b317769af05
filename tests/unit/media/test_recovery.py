"""Video recovery policy (parley.media.recovery) with a stepped clock, and the jitter buffer that applies it
to real aiortc RTP packets carrying real VP8 frames."""

from __future__ import annotations

import av
import numpy as np
import pytest
from aiortc.codecs.vpx import Vp8Encoder, vp8_depayload
from aiortc.rtp import RtpPacket
from aiortc.utils import uint16_add
from av.video.frame import PictureType

from parley.media.frame_transform import _FrameAfterLoss, _RecoveringJitterBuffer, _ResendingNackGenerator
from parley.media.recovery import (
    AIORTC_REPORT_INTERVAL,
    GAP_PATIENCE,
    JANUS_REPORT_INTERVAL,
    OVERDUE,
    REQUEST_INTERVAL,
    RETRY_AFTER,
    Action,
    GapPatience,
    KeyframeRequests,
    Resends,
    is_vp8_keyframe,
    starts_vp8_frame,
)

# -- KeyframeRequests --------------------------------------------------------------------------------


def test_until_a_keyframe_decodes_delta_frames_are_skipped_and_a_keyframe_asked_for_per_interval() -> None:
    core = KeyframeRequests()

    assert core.decrypted(0.0, keyframe=False) is Action.SKIP
    assert core.take_request() and not core.take_request()  # one request, taken once
    assert core.decrypted(0.1, keyframe=False) is Action.SKIP
    assert not core.take_request()  # within the interval
    assert core.decrypted(REQUEST_INTERVAL + 0.01, keyframe=False) is Action.SKIP
    assert core.take_request()

    assert core.decrypted(0.5, keyframe=True) is Action.DECODE
    core.decoded(keyframe=True)
    assert core.decrypted(0.6, keyframe=False) is Action.DECODE
    assert not core.take_request()
    assert (core.requests, core.skipped) == (2, 3)


def test_a_frame_that_does_not_decrypt_breaks_the_picture_and_asks_for_a_keyframe() -> None:
    core = healthy()

    core.decrypt_failed(10.0)
    assert core.take_request()
    core.decrypt_failed(10.05)
    assert not core.take_request()  # rate-limited
    assert core.decrypted(10.1, keyframe=False) is Action.SKIP
    assert core.take_request()  # the key works again: ask at once, the earlier asks could not help
    assert core.decrypted(10.15, keyframe=False) is Action.SKIP
    assert not core.take_request()
    assert core.decrypted(10.2, keyframe=True) is Action.DECODE
    core.decoded(keyframe=True)
    assert core.decrypted(10.25, keyframe=False) is Action.DECODE


def test_a_frame_the_decoder_rejects_or_the_jitter_buffer_gave_up_on_asks_for_a_keyframe() -> None:
    for lose in (KeyframeRequests.decode_failed, KeyframeRequests.frame_lost):
        core = healthy()
        lose(core, 5.0)
        assert core.waiting and core.take_request()
        assert core.decrypted(5.1, keyframe=False) is Action.SKIP
        assert not core.take_request()
        assert core.decrypted(5.0 + REQUEST_INTERVAL, keyframe=False) is Action.SKIP
        assert core.take_request()  # the keyframe did not come: ask again


def test_a_keyframe_that_fails_to_decode_keeps_the_receiver_waiting() -> None:
    core = KeyframeRequests()
    assert core.decrypted(0.0, keyframe=True) is Action.DECODE
    core.decode_failed(0.0)
    assert core.decrypted(0.1, keyframe=False) is Action.SKIP


def healthy() -> KeyframeRequests:
    core = KeyframeRequests()
    core.decrypted(0.0, keyframe=True)
    core.decoded(keyframe=True)
    return core


# -- GapPatience --------------------------------------------------------------------------------------


def test_a_hole_is_waited_for_for_the_patience_then_given_up_on_and_the_wait_starts_again_after() -> None:
    gap = GapPatience()
    assert not gap.held(0.0)
    assert not gap.held(GAP_PATIENCE / 2)
    assert gap.held(GAP_PATIENCE)
    gap.flowing()
    assert not gap.held(2.0)
    assert not gap.held(2.0 + GAP_PATIENCE, patience=2.0)  # a slow path's resends take longer


# -- Resends ------------------------------------------------------------------------------------------


def test_a_packet_still_missing_is_asked_for_again_until_the_patience_runs_out() -> None:
    resends = Resends()
    resends.asked([7, 8], now=0.0)
    resends.arrived(8, now=0.05)
    assert not resends.due(RETRY_AFTER / 2)
    assert resends.due(RETRY_AFTER)
    resends.asked([7], now=RETRY_AFTER)
    assert not resends.due(RETRY_AFTER + 0.1)
    assert resends.given_up(GAP_PATIENCE - 0.01) == []
    assert resends.given_up(GAP_PATIENCE) == [7]
    assert not resends.due(GAP_PATIENCE + RETRY_AFTER)  # not worth asking for any more


def test_resends_that_arrive_set_how_long_to_wait_on_a_slow_path() -> None:
    resends = Resends()
    assert resends.patience == GAP_PATIENCE
    for seq in range(40):  # a satellite path: each resend comes 0.6 s after its NACK
        resends.asked([seq], now=seq)
        resends.arrived(seq, now=seq + 0.6)
    assert resends.rtt is not None and abs(resends.rtt - 0.6) < 0.01
    assert resends.patience > 1.2
    resends.arrived(1000, now=50.0)  # a packet never asked for times nothing
    assert abs(resends.rtt - 0.6) < 0.01


def test_on_a_slow_path_a_packet_is_asked_for_again_before_its_first_resend_could_come() -> None:
    """Janus keeps what it sent for a second: waiting for the first answer on a 600 ms path would leave
    no time for a second NACK to find the packet."""
    resends = Resends(rtt=0.6)
    resends.asked([5], now=0.0)
    assert resends.due(RETRY_AFTER)
    resends.asked([5], now=RETRY_AFTER)
    resends.arrived(5, now=0.6)  # the first NACK's resend: timed from the first NACK, not the second
    assert resends.rtt == pytest.approx(0.6)
    assert not resends.due(1.0)


def test_a_hole_early_in_a_stream_asks_for_a_keyframe_while_it_waits_for_the_resend() -> None:
    """Janus keeps nothing to resend to a new subscription until a receiver report has given it the round
    trip: a hole in the stream's first seconds may be lost for good, so it asks for a keyframe after
    `GAP_PATIENCE`, once, and still waits as long as the path needs for the resend."""
    resends = Resends(rtt=0.6)
    assert resends.patience == pytest.approx(1.5)
    resends.arrived(1, now=10.0)  # the stream's first packet
    assert resends.unproven(11.0)
    gap = GapPatience()
    assert not gap.held(11.0, resends.patience) and not gap.hurry(11.0)
    assert not gap.hurry(11.0 + GAP_PATIENCE - 0.01)
    assert gap.hurry(11.0 + GAP_PATIENCE + 0.01) and not gap.hurry(11.0 + GAP_PATIENCE + 0.1)  # once
    assert not gap.held(11.0 + 1.4, resends.patience)
    gap.flowing()  # the resend came
    gap.held(12.0)
    assert gap.hurry(12.0 + GAP_PATIENCE + 0.01)  # the next hole asks again

    reported = 10.0 + JANUS_REPORT_INTERVAL + AIORTC_REPORT_INTERVAL + 0.6
    assert not resends.unproven(reported + 0.01)  # by now Janus keeps what it sends
    resent = Resends(rtt=0.6)  # as a resend that came says, however early
    resent.arrived(1, now=0.0)
    resent.asked([2], now=0.1)
    resent.arrived(2, now=0.7)
    assert not resent.unproven(1.0)


def test_on_a_long_path_a_hole_whose_resend_is_overdue_asks_for_a_keyframe_before_the_give_up() -> None:
    slow = Resends(rtt=0.6)
    slow.arrived(1, now=0.0)
    slow.asked([2], now=0.1)
    slow.arrived(2, now=0.7)  # resends come: Janus keeps what it sent
    assert slow.hurry_after(5.0) == pytest.approx(OVERDUE * 0.6) and slow.patience > OVERDUE * 0.6
    gap = GapPatience()
    gap.held(5.0, slow.patience)
    assert not gap.hurry(5.0 + 0.7, slow.hurry_after(5.7))
    assert gap.hurry(5.0 + 0.76, slow.hurry_after(5.76)) and not gap.hurry(5.8, slow.hurry_after(5.8))
    assert not gap.held(5.8, slow.patience)  # and it still waits for the resend

    fast = Resends(rtt=0.07)
    fast.arrived(1, now=0.0)
    fast.asked([2], now=0.1)
    fast.arrived(2, now=0.17)
    assert fast.hurry_after(5.0) == GAP_PATIENCE == fast.patience  # the give-up asks itself


def test_a_resend_after_the_give_up_still_times_the_path() -> None:
    resends = Resends()
    resends.asked([3], now=0.0)
    assert resends.given_up(GAP_PATIENCE) == [3]
    resends.arrived(3, now=0.6)
    assert resends.rtt == 0.6


# -- VP8 bits, on real encoder output -----------------------------------------------------------------


def test_vp8_keyframes_and_frame_starts_are_told_from_real_encoder_output() -> None:
    frames = encoded_frames(3)
    assert [is_vp8_keyframe(f) for f in frames] == [True, False, False]
    payloads = Vp8Encoder._packetize(frames[0], picture_id=1)
    assert len(payloads) > 1
    assert [starts_vp8_frame(p) for p in payloads] == [True] + [False] * (len(payloads) - 1)
    assert not is_vp8_keyframe(b"") and not starts_vp8_frame(b"")


# -- the recovering jitter buffer ---------------------------------------------------------------------


class SteppedClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_the_jitter_buffer_gives_up_on_a_lost_packet_after_the_patience_and_marks_the_next_frame() -> None:
    clock = SteppedClock()
    buffer = _RecoveringJitterBuffer(512, Resends(), clock=clock)
    packets = rtp_packets(encoded_frames(6))  # (frame index, packet)
    lost = next(p for i, p in packets if i == 2 and not starts_vp8_frame(p.payload))  # inside frame 2

    out = []
    for index, packet in packets:
        if packet is lost:
            continue
        clock.now += 0.01
        _, frame = buffer.add(packet)
        out.append((index, frame))
    emitted = [f for _, f in out if f is not None]
    assert len(emitted) == 2  # frames 0 and 1; frame 2 waits for its missing packet

    clock.now += GAP_PATIENCE  # the packet does not come
    _, after = buffer.add(next_packet(packets[-1][1]))
    assert isinstance(after, _FrameAfterLoss)  # frame 3, whole, marked: the decoder must ask for a keyframe
    assert after.data == frame_data(packets, 3)
    _, following = buffer.add(next_packet(packets[-1][1], 1))
    assert following is not None and not isinstance(following, _FrameAfterLoss)
    assert following.data == frame_data(packets, 4)


def test_the_jitter_buffer_waits_as_aiortc_does_while_the_resend_may_still_come() -> None:
    clock = SteppedClock()
    buffer = _RecoveringJitterBuffer(512, Resends(), clock=clock)
    packets = rtp_packets(encoded_frames(4))
    lost = next(p for i, p in packets if i == 1 and starts_vp8_frame(p.payload))
    emitted = []
    for _, packet in packets:
        if packet is not lost:
            clock.now += 0.01
            emitted.append(buffer.add(packet)[1])
    assert emitted == [None] * len(emitted)  # frame 0 ends where frame 1 starts: that packet is missing

    clock.now += GAP_PATIENCE / 3
    _, resent = buffer.add(lost)  # the NACK's answer
    assert resent is not None and not isinstance(resent, _FrameAfterLoss)
    assert resent.data == frame_data(packets, 0)
    _, then = buffer.add(next_packet(packets[-1][1]))
    assert then is not None and then.data == frame_data(packets, 1)


def test_a_whole_keyframe_after_a_hole_is_handed_out_at_once() -> None:
    clock = SteppedClock()
    buffer = _RecoveringJitterBuffer(512, Resends(), clock=clock)
    frames = encoded_frames(6, keyframes=frozenset({3}))
    assert [is_vp8_keyframe(f) for f in frames] == [True, False, False, True, False, False]
    packets = rtp_packets(frames)
    lost = next(p for i, p in packets if i == 1 and not starts_vp8_frame(p.payload))  # inside frame 1
    emitted = []
    for _, packet in packets:
        if packet is not lost:  # no time passes: the patience has nothing to do with it
            emitted.append(buffer.add(packet)[1])
    handed = [f for f in emitted if f is not None]
    assert [f.data for f in handed] == [
        frame_data(packets, 0),
        frame_data(packets, 3),
        frame_data(packets, 4),
    ]
    assert not any(isinstance(f, _FrameAfterLoss) for f in handed)  # a keyframe needs no request


# -- helpers ------------------------------------------------------------------------------------------


def encoded_frames(count: int, keyframes: frozenset[int] = frozenset()) -> list[bytes]:
    """Real VP8 frames of noise (which compresses badly), large enough to take several RTP packets each;
    the first and those in `keyframes` are keyframes."""
    noise, codec = np.random.default_rng(7), av.CodecContext.create("libvpx", "w")
    codec.width, codec.height, codec.pix_fmt = 320, 240, "yuv420p"
    codec.bit_rate, codec.options = 4_000_000, {"deadline": "realtime", "lag-in-frames": "0"}
    frames = []
    for i in range(count):
        frame = av.VideoFrame.from_ndarray(
            noise.integers(0, 256, (240, 320, 3), dtype=np.uint8), format="rgb24"
        )
        frame = frame.reformat(format="yuv420p")
        frame.pts = i
        if i in keyframes:
            frame.pict_type = PictureType.I  # libvpx makes a keyframe
        frames.append(b"".join(bytes(p) for p in codec.encode(frame)))
    return frames


def rtp_packets(frames: list[bytes]) -> list[tuple[int, RtpPacket]]:
    """The frames packetized as aiortc's sender does; each packet depayloaded as its receiver does."""
    packets, seq = [], 65530  # wraps around 0
    for index, data in enumerate(frames):
        for payload in Vp8Encoder._packetize(data, picture_id=index):
            packet = RtpPacket(payload_type=97, sequence_number=seq, timestamp=index * 3000)
            packet.payload = payload
            packet._data = vp8_depayload(payload)  # type: ignore[attr-defined]
            packets.append((index, packet))
            seq = uint16_add(seq, 1)
    return packets


def next_packet(last: RtpPacket, offset: int = 0) -> RtpPacket:
    """A one-packet frame after `last`: it completes the frame before it in the buffer."""
    packet = RtpPacket(
        payload_type=97,
        sequence_number=uint16_add(last.sequence_number, 1 + offset),
        timestamp=last.timestamp + 3000 * (1 + offset),
    )
    packet.payload = Vp8Encoder._packetize(b"\x01" * 10, picture_id=99)[0]
    packet._data = vp8_depayload(packet.payload)  # type: ignore[attr-defined]
    return packet


def frame_data(packets: list[tuple[int, RtpPacket]], index: int) -> bytes:
    return b"".join(p._data for i, p in packets if i == index)  # type: ignore[attr-defined]


def test_the_nack_generator_asks_again_for_a_packet_still_missing_then_gives_it_up() -> None:
    clock = SteppedClock()
    generator = _ResendingNackGenerator(Resends(), clock=clock)
    sequence = [RtpPacket(payload_type=97, sequence_number=uint16_add(65534, i)) for i in range(6)]
    answers = []
    for packet in sequence[:2] + sequence[3:]:  # the third is lost
        clock.now += 0.02
        answers.append(generator.add(packet))
    assert answers == [False, False, True, False, False]  # aiortc's own NACK, when the hole appears
    assert generator.missing == {0}

    clock.now = 0.06 + RETRY_AFTER
    assert generator.add(RtpPacket(payload_type=97, sequence_number=4))  # asked again
    clock.now += 0.02
    assert not generator.add(RtpPacket(payload_type=97, sequence_number=5))
    clock.now = 0.07 + GAP_PATIENCE
    assert not generator.add(RtpPacket(payload_type=97, sequence_number=6))  # given up: not asked for
    assert generator.missing == set()
