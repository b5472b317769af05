"""Audio through loss: real Opus packets from aiortc's encoder (with Parley's in-band FEC), decoded by
the concealing decoder on the system's libopus, and the prompt audio jitter buffer on real RTP packets."""

from __future__ import annotations

import fractions
import itertools
from collections.abc import Iterable, Sequence

import numpy as np
import numpy.typing as npt
import pytest
from aiortc.codecs.opus import OpusEncoder
from aiortc.jitterbuffer import JitterBuffer, JitterFrame
from aiortc.rtp import RtpPacket
from av import AudioFrame

from parley.media.frame_transform import FrameStats, _enable_opus_fec, _PromptAudioJitterBuffer
from parley.media.libopus import PacketDecoder, packet_samples
from parley.media.opus_concealment import MAX_CONCEALED, ConcealingOpusDecoder, Timeline

PACKET = 960  # samples per channel in one of aiortc's 20 ms Opus packets
START = (1 << 32) - 5 * PACKET  # RTP timestamps that wrap around 0 within the stream


def speech_like(count: int) -> list[AudioFrame]:
    """`count` 20 ms mono frames of a gliding, pulsing tone: unlike a steady tone, a lost packet of it
    cannot simply be extrapolated, so what fills the loss shows whether it came from the FEC."""
    t = np.arange(count * PACKET) / 48_000
    phase = 2 * np.pi * (300 * t + 400 * t**2)  # 300 Hz gliding up
    signal = 0.4 * np.sin(phase) * (0.6 + 0.4 * np.sin(2 * np.pi * 4 * t))
    pcm = np.round(signal * 32767).astype("<i2")
    frames = []
    for i in range(count):
        frame = AudioFrame.from_ndarray(pcm[None, i * PACKET : (i + 1) * PACKET], format="s16", layout="mono")
        frame.sample_rate, frame.pts, frame.time_base = 48_000, i * PACKET, fractions.Fraction(1, 48_000)
        frames.append(frame)
    return frames


def opus_packets(count: int, fec: bool = True) -> list[JitterFrame]:
    """What a Parley sender sends (aiortc's encoder, in-band FEC on), as a receiver's jitter buffer
    hands it to the decoder: one packet per frame, RTP timestamps from `START`."""
    encoder = OpusEncoder()
    if fec:
        _enable_opus_fec(encoder)
    packets = []
    for frame in speech_like(count):
        payloads, _ = encoder.encode(frame)
        packets += payloads
    return [JitterFrame(p, (START + i * PACKET) % (1 << 32)) for i, p in enumerate(packets)]


def decoded(packets: Iterable[JitterFrame], stats: FrameStats | None = None) -> list[AudioFrame]:
    decoder = ConcealingOpusDecoder(stats or FrameStats(kind="audio"))
    frames = [f for p in packets for f in decoder.decode(p)]
    assert all(isinstance(f, AudioFrame) for f in frames)
    return [f for f in frames if isinstance(f, AudioFrame)]


def pcm(frames: Sequence[AudioFrame]) -> npt.NDArray[np.float64]:
    """The left channel of s16 stereo frames, as floats."""
    return np.concatenate([f.to_ndarray().reshape(-1, 2)[:, 0] for f in frames]).astype(np.float64)


def contiguous(frames: Sequence[AudioFrame]) -> bool:
    """Each frame starts where the one before ended (RTP timestamps, which wrap)."""
    return all(
        a.pts is not None and b.pts == (a.pts + a.samples) % (1 << 32) for a, b in itertools.pairwise(frames)
    )


def snr(reference: npt.NDArray[np.float64], other: npt.NDArray[np.float64]) -> float:
    return float(10 * np.log10(np.sum(reference**2) / np.sum((reference - other) ** 2)))


def test_a_lost_packet_is_rebuilt_from_the_fec_the_next_one_carries() -> None:
    packets = opus_packets(40)
    # A packet whose successor carries FEC for it: libopus codes FEC where its voice detection hears speech.
    lost = 12
    whole = decoded(packets)
    stats = FrameStats(kind="audio")
    played = decoded(packets[:lost] + packets[lost + 1 :], stats)

    assert contiguous(played) and contiguous(whole)
    assert sum(f.samples for f in played) == sum(f.samples for f in whole) == 40 * PACKET
    assert played[0].pts == START and stats.concealed == pytest.approx(0.02)
    span = slice(lost * PACKET, (lost + 1) * PACKET)
    filled, reference = pcm(played)[span], pcm(whole)[span]
    # What a decoder that only conceals would have played instead (no FEC to go on).
    plc_only = PacketDecoder()
    for p in packets[:lost]:
        plc_only.decode(p.data)
    concealed = np.frombuffer(plc_only.conceal(PACKET), dtype="<i2").reshape(-1, 2)[:, 0].astype(np.float64)
    # Measured: about 50 dB rebuilt from the FEC, against 4 dB concealed.
    assert snr(reference, filled) > 20 and snr(reference, concealed) < 10
    # After the loss the decoder is back on the stream: the next packets play as in the lossless run.
    after = slice((lost + 3) * PACKET, (lost + 6) * PACKET)
    assert snr(pcm(whole)[after], pcm(played)[after]) > 20


def test_a_burst_of_losses_is_concealed_then_the_last_rebuilt_and_the_audio_goes_on() -> None:
    packets = opus_packets(30)
    stats = FrameStats(kind="audio")
    played = decoded(packets[:10] + packets[13:], stats)

    assert contiguous(played) and sum(f.samples for f in played) == 30 * PACKET
    assert stats.concealed == pytest.approx(0.06)
    gap = pcm(played)[10 * PACKET : 13 * PACKET]
    assert np.sqrt(np.mean(gap[: 2 * PACKET] ** 2)) > 300  # concealment sounds, it is not silence


def test_a_pause_longer_than_concealment_covers_is_not_filled() -> None:
    packets = opus_packets(10)
    pause = MAX_CONCEALED + PACKET
    resumed = [JitterFrame(p.data, (p.timestamp + pause) % (1 << 32)) for p in packets[5:]]
    stats = FrameStats(kind="audio")
    played = decoded(packets[:5] + resumed, stats)

    assert len(played) == 10 and stats.concealed == 0
    assert played[5].pts == (packets[4].timestamp + PACKET + pause) % (1 << 32)


def test_a_packet_libopus_rejects_is_counted_and_its_time_filled_from_the_next() -> None:
    packets = opus_packets(10)
    broken = JitterFrame(b"\x03", packets[5].timestamp)  # code 3 with no frame count: invalid
    stats = FrameStats(kind="audio")
    played = decoded([*packets[:5], broken, *packets[6:]], stats)

    assert stats.undecodable == 1 and stats.concealed == pytest.approx(0.02)
    assert contiguous(played) and sum(f.samples for f in played) == 10 * PACKET


def test_the_timeline_fills_what_is_missing_and_leaves_pauses_and_old_packets_alone() -> None:
    timeline = Timeline()
    assert timeline.missing_before(START) == 0
    timeline.played(START, PACKET)
    assert timeline.missing_before((START + 3 * PACKET) % (1 << 32)) == 2 * PACKET  # across the wrap
    assert timeline.missing_before(START + PACKET) == 0
    assert timeline.missing_before(START) == 0  # a packet from before
    assert timeline.missing_before((START + PACKET + MAX_CONCEALED + 120) % (1 << 32)) == 0  # a pause
    assert timeline.missing_before(START + PACKET + 1000) == 960  # whole 2.5 ms steps only
    assert packet_samples(opus_packets(1)[0].data) == PACKET


# -- the prompt audio jitter buffer ------------------------------------------------------------------


def rtp(sequence_numbers: Iterable[int]) -> list[RtpPacket]:
    packets = []
    for seq in sequence_numbers:
        packet = RtpPacket(payload_type=111, sequence_number=seq % 65536, timestamp=seq * PACKET % (1 << 32))
        packet.payload = packet._data = seq.to_bytes(4, "big")  # type: ignore[attr-defined]
        packets.append(packet)
    return packets


def handed_out(buffer: JitterBuffer, packets: Iterable[RtpPacket]) -> list[int | None]:
    """After each packet added, the sequence number of the frame handed out, if one was."""
    frames = [buffer.add(p)[1] for p in packets]
    return [None if f is None else int.from_bytes(f.data, "big") % 65536 for f in frames]


def test_the_audio_jitter_buffer_plays_on_past_a_lost_packet_where_aiortcs_waits() -> None:
    first = 65530  # sequence numbers wrap around 0
    arriving = [s for s in range(first, first + 30) if s != first + 8]
    prompt = handed_out(_PromptAudioJitterBuffer(16, prefetch=4), rtp(arriving))
    aiortc = handed_out(JitterBuffer(16, prefetch=4), rtp(arriving))

    # One frame out per packet in, once four more follow it; the lost one skipped, no pause.
    assert prompt == [None] * 4 + [s % 65536 for s in arriving[:-4]]
    # aiortc's stops at the hole until its buffer overflows: 14 packets (280 ms) with nothing to play,
    # then it throws away the four before the hole as well.
    assert aiortc == [None] * 4 + [65530, 65531, 65532, 65533] + [None] * 14 + list(range(3, 10))


def test_the_audio_jitter_buffer_still_puts_a_late_packet_in_its_place() -> None:
    packets = rtp(range(100, 112))
    late = packets.pop(6)
    packets.insert(8, late)  # two packets late: within the four the buffer waits for
    assert handed_out(_PromptAudioJitterBuffer(16, prefetch=4), packets) == [None] * 4 + list(range(100, 108))


def test_the_audio_jitter_buffer_drops_a_packet_that_comes_after_its_turn() -> None:
    packets = rtp(range(100, 114))
    late = packets.pop(3)
    packets.append(late)
    out = handed_out(_PromptAudioJitterBuffer(16, prefetch=4), packets)
    assert 103 not in out and out[-1] is None
