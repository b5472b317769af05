"""Recognisable media: pattern ids and tone frequencies survive the codecs a call puts them through."""

from __future__ import annotations

import asyncio
import fractions
import time

import av
import numpy as np
import pytest
from av.video.codeccontext import VideoCodecContext

from parley.media.sources import (
    PATTERN_COUNT,
    PatternVideoTrack,
    ToneAudioTrack,
    dominant_frequency,
    read_pattern,
    samples_of,
)

WIDTH, HEIGHT = 320, 240


def vp8_round_trip(track: PatternVideoTrack, frames: int, bit_rate: int) -> list[av.VideoFrame]:
    """Encode `frames` frames of `track` with libvpx (realtime, like aiortc) and decode them again."""
    encoder = av.CodecContext.create("libvpx", "w")
    assert isinstance(encoder, VideoCodecContext)
    encoder.width, encoder.height, encoder.pix_fmt = WIDTH, HEIGHT, "yuv420p"
    encoder.bit_rate = bit_rate
    encoder.time_base = fractions.Fraction(1, 15)
    encoder.options = {"deadline": "realtime", "cpu-used": "-6", "lag-in-frames": "0"}
    decoder = av.CodecContext.create("libvpx", "r")
    decoded: list[av.VideoFrame] = []
    for index in range(frames):
        frame = track.frame(index)
        frame.pts, frame.time_base = index, fractions.Fraction(1, 15)
        for packet in encoder.encode(frame):
            decoded += [f for f in decoder.decode(packet) if isinstance(f, av.VideoFrame)]
    return decoded


def test_every_pattern_id_reads_back_from_raw_frames() -> None:
    for pattern_id in range(PATTERN_COUNT):
        track = PatternVideoTrack(pattern_id)
        assert {read_pattern(track.frame(i)) for i in (0, 1, 17)} == {pattern_id}


@pytest.mark.parametrize("pattern_id", range(8))
def test_pattern_ids_survive_vp8_at_320x240(pattern_id: int) -> None:
    decoded = vp8_round_trip(PatternVideoTrack(pattern_id), frames=8, bit_rate=250_000)
    assert len(decoded) == 8
    assert [read_pattern(f) for f in decoded] == [pattern_id] * 8


def test_consecutive_frames_differ_so_the_video_is_not_static() -> None:
    track = PatternVideoTrack(5)
    a, b = (track.frame(i).to_ndarray(format="gray") for i in (0, 1))
    assert not np.array_equal(a, b)


def test_black_grey_and_noise_frames_carry_no_pattern() -> None:
    rng = np.random.default_rng(7)
    black = np.zeros((HEIGHT, WIDTH, 3), np.uint8)
    grey = np.full((HEIGHT, WIDTH, 3), 128, np.uint8)
    noise = [rng.integers(0, 256, (HEIGHT, WIDTH, 3), dtype=np.uint8) for _ in range(20)]
    for image in (black, grey, *noise):
        assert read_pattern(av.VideoFrame.from_ndarray(image, format="rgb24")) is None


def test_pattern_track_refuses_ids_it_cannot_encode() -> None:
    with pytest.raises(ValueError, match="pattern_id"):
        PatternVideoTrack(PATTERN_COUNT)


def test_video_track_is_paced_at_its_frame_rate() -> None:
    async def three_frames() -> list[int]:
        track = PatternVideoTrack(1, fps=15)
        return [(await track.recv()).pts or 0 for _ in range(3)]

    start = time.monotonic()
    pts = asyncio.run(three_frames())
    assert pts == [0, 6000, 12000]  # 90 kHz clock, 15 fps
    assert time.monotonic() - start >= 0.12


@pytest.mark.parametrize("frequency", [440.0, 697.0, 1209.0])
def test_tone_frequency_is_recovered_from_raw_frames(frequency: float) -> None:
    track = ToneAudioTrack(frequency)
    samples = samples_of(track.frame(i * 960) for i in range(25))  # 0.5 s
    assert len(samples) == 24_000
    assert abs(dominant_frequency(samples, 48_000) - frequency) < 2


def test_tone_frequency_survives_opus() -> None:
    track = ToneAudioTrack(697.0)
    encoder = av.CodecContext.create("libopus", "w")
    assert isinstance(encoder, av.AudioCodecContext)
    encoder.sample_rate, encoder.layout, encoder.format = 48_000, "mono", "s16"
    encoder.bit_rate = 32_000
    decoder = av.CodecContext.create("libopus", "r")
    decoded: list[av.AudioFrame] = []
    for i in range(50):
        for packet in encoder.encode(track.frame(i * 960)):
            decoded += [f for f in decoder.decode(packet) if isinstance(f, av.AudioFrame)]
    samples = samples_of(decoded)[4800:]  # skip the codec's start-up
    assert abs(dominant_frequency(samples, 48_000) - 697.0) < 3


def test_samples_of_averages_packed_stereo() -> None:
    left_right = np.array([[1000, 3000, -1000, -3000]], dtype=np.int16)  # two stereo samples, interleaved
    frame = av.AudioFrame.from_ndarray(left_right, format="s16", layout="stereo")
    assert np.allclose(samples_of([frame]), [2000 / 32768, -2000 / 32768])
