"""Media a test can recognise at the far end: a video pattern that names its sender, a tone of known pitch.

A test proves media really crossed (and really decrypted) by what it decodes, not by counters: each sender
gets a `PatternVideoTrack(pattern_id)` and a `ToneAudioTrack(frequency)`, and the receiving side checks
`read_pattern` on decoded frames and `dominant_frequency` on decoded audio.

The pattern survives VP8 at low bitrates because it is made of big flat blocks: eight columns across the
top of the picture, each split into an upper and a lower block of opposite brightness. The sign of
upper minus lower is one bit; requiring a large difference in every column, a fixed marker bit and a parity
bit makes black, grey or garbage frames read as None rather than as some id. A bright square moves along
the bottom band so consecutive frames differ (the encoder really encodes motion) without touching the code.
"""

from __future__ import annotations

import asyncio
import contextlib
import fractions
import math
import time
from collections.abc import Iterable
from typing import Any

import numpy as np
import numpy.typing as npt
from aiortc.mediastreams import (
    AUDIO_PTIME,
    VIDEO_CLOCK_RATE,
    VIDEO_TIME_BASE,
    AudioStreamTrack,
    MediaStreamError,
    MediaStreamTrack,
    VideoStreamTrack,
)
from av import AudioFrame, VideoFrame
from av.frame import Frame
from av.packet import Packet

__all__ = [
    "PATTERN_COUNT",
    "PatternVideoTrack",
    "ToneAudioTrack",
    "collect",
    "dominant_frequency",
    "read_pattern",
    "samples_of",
    "tone_amplitude",
]

_COLUMNS = 8  # marker bit, six data bits (most significant first), parity bit
_DATA_BITS = _COLUMNS - 2
PATTERN_COUNT = 1 << _DATA_BITS
_DARK, _BRIGHT, _GREY = 32, 224, 128
# Upper and lower blocks of a column must differ by this much (of 192) to count as a bit.
_MIN_CONTRAST = 96
_CODE_BAND = 0.75  # share of the height holding the code; the moving square uses the rest


def _bits(pattern_id: int) -> list[int]:
    data = [(pattern_id >> (_DATA_BITS - 1 - i)) & 1 for i in range(_DATA_BITS)]
    return [1, *data, sum(data) % 2]


def _code_height(height: int) -> int:
    return (int(height * _CODE_BAND) // 2) * 2


class PatternVideoTrack(VideoStreamTrack):
    """A video track whose every frame carries `pattern_id` (0..63), paced in real time at `fps`."""

    def __init__(self, pattern_id: int, width: int = 320, height: int = 240, fps: int = 15) -> None:
        super().__init__()
        if not 0 <= pattern_id < PATTERN_COUNT:
            raise ValueError(f"pattern_id must be in 0..{PATTERN_COUNT - 1}, not {pattern_id}")
        if width % (2 * _COLUMNS) or height % 4 or width < 64 or height < 48:
            raise ValueError(f"width must be a multiple of {2 * _COLUMNS} and height of 4 (at least 64x48)")
        self.pattern_id = pattern_id
        self.width, self.height, self.fps = width, height, fps
        self._luma, self._chroma_u, self._chroma_v = _pattern_planes(pattern_id, width, height)
        self._frames = 0

    async def next_timestamp(self) -> tuple[int, fractions.Fraction]:
        """Like aiortc's, but at this track's frame rate (aiortc's own is fixed at 30 fps)."""
        if self.readyState != "live":
            raise MediaStreamError
        if hasattr(self, "_timestamp"):
            self._timestamp += VIDEO_CLOCK_RATE // self.fps
            await asyncio.sleep(self._start + self._timestamp / VIDEO_CLOCK_RATE - time.time())
        else:
            self._start = time.time()
            self._timestamp = 0
        return self._timestamp, VIDEO_TIME_BASE

    async def recv(self) -> Frame:
        pts, time_base = await self.next_timestamp()
        frame = self.frame(self._frames)
        self._frames += 1
        frame.pts = pts
        frame.time_base = time_base
        return frame

    def frame(self, index: int) -> VideoFrame:
        """Frame number `index` of this track, without pacing (tests encode these directly)."""
        luma = self._luma.copy()
        top = _code_height(self.height)
        side = self.height - top
        x = (index * 8) % (self.width - side)
        luma[top:, x : x + side] = _BRIGHT
        planes = np.concatenate([luma.ravel(), self._chroma_u.ravel(), self._chroma_v.ravel()])
        return VideoFrame.from_ndarray(planes.reshape(self.height * 3 // 2, self.width), format="yuv420p")


def _pattern_planes(
    pattern_id: int, width: int, height: int
) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.uint8], npt.NDArray[np.uint8]]:
    luma = np.full((height, width), _GREY, dtype=np.uint8)
    top, column = _code_height(height), width // _COLUMNS
    for i, bit in enumerate(_bits(pattern_id)):
        upper, lower = (_BRIGHT, _DARK) if bit else (_DARK, _BRIGHT)
        luma[: top // 2, i * column : (i + 1) * column] = upper
        luma[top // 2 : top, i * column : (i + 1) * column] = lower
    # A hue per id, for people looking at a snapshot; read_pattern uses luma only.
    angle = 2 * math.pi * pattern_id / 8
    u = np.full((height // 2, width // 2), 128, dtype=np.uint8)
    v = np.full((height // 2, width // 2), 128, dtype=np.uint8)
    u[: top // 2] = 128 + round(48 * math.cos(angle))
    v[: top // 2] = 128 + round(48 * math.sin(angle))
    return luma, u, v


def read_pattern(frame: VideoFrame) -> int | None:
    """The pattern id a decoded frame carries, or None if it carries none (black, grey, garbage)."""
    luma = frame.to_ndarray(format="gray").astype(np.int32)
    height, width = luma.shape
    top, column = _code_height(height), width // _COLUMNS
    half = top // 2
    bits = []
    for i in range(_COLUMNS):
        # The middle half of each block: VP8 smears block edges, never their centres.
        x0, x1 = i * column + column // 4, (i + 1) * column - column // 4
        upper = luma[half // 4 : half - half // 4, x0:x1].mean()
        lower = luma[half + half // 4 : top - half // 4, x0:x1].mean()
        if abs(upper - lower) < _MIN_CONTRAST:
            return None
        bits.append(1 if upper > lower else 0)
    marker, data, parity = bits[0], bits[1:-1], bits[-1]
    if marker != 1 or parity != sum(data) % 2:
        return None
    return sum(bit << (_DATA_BITS - 1 - i) for i, bit in enumerate(data))


class ToneAudioTrack(AudioStreamTrack):
    """A mono s16 sine tone in 20 ms frames, paced in real time like aiortc's own AudioStreamTrack."""

    def __init__(self, frequency_hz: float, sample_rate: int = 48000, amplitude: float = 0.5) -> None:
        super().__init__()
        if not 0 < frequency_hz < sample_rate / 2:
            raise ValueError(f"frequency_hz must be between 0 and {sample_rate / 2} (Nyquist)")
        self.frequency_hz, self.sample_rate, self.amplitude = frequency_hz, sample_rate, amplitude
        self._samples_per_frame = int(AUDIO_PTIME * sample_rate)
        self._sent = 0

    async def recv(self) -> Frame:
        if self.readyState != "live":
            raise MediaStreamError
        if self._sent:
            await asyncio.sleep(self._start + self._sent / self.sample_rate - time.time())
        else:
            self._start = time.time()
        frame = self.frame(self._sent)
        self._sent += self._samples_per_frame
        return frame

    def frame(self, first_sample: int) -> AudioFrame:
        """The 20 ms frame starting at sample `first_sample`, without pacing; phase runs on across frames."""
        n = np.arange(first_sample, first_sample + self._samples_per_frame)
        wave = self.amplitude * np.sin(2 * np.pi * self.frequency_hz * n / self.sample_rate)
        pcm = np.round(wave * 32767).astype(np.int16).reshape(1, -1)
        frame = AudioFrame.from_ndarray(pcm, format="s16", layout="mono")
        frame.sample_rate = self.sample_rate
        frame.pts = first_sample
        frame.time_base = fractions.Fraction(1, self.sample_rate)
        return frame


def samples_of(frames: Iterable[AudioFrame]) -> npt.NDArray[np.float64]:
    """Decoded audio frames as one mono signal in [-1, 1] (channels averaged), for `dominant_frequency`."""
    chunks = []
    for frame in frames:
        channels = len(frame.layout.channels)
        pcm = frame.to_ndarray().astype(np.float64)
        # Planar formats come as (channels, samples), packed ones as (1, samples * channels).
        pcm = pcm if frame.format.is_planar else pcm.reshape(-1, channels).T
        if frame.format.name.startswith("s16"):
            pcm /= 32768.0
        elif frame.format.name.startswith("s32"):
            pcm /= 2147483648.0
        elif not frame.format.name.startswith("flt"):
            raise ValueError(f"Unsupported sample format {frame.format.name}")
        chunks.append(pcm.mean(axis=0))
    return np.concatenate(chunks) if chunks else np.zeros(0)


def dominant_frequency(samples: npt.NDArray[np.floating], sample_rate: int) -> float:
    """The strongest frequency in `samples`, in Hz (Hann window, FFT, parabolic peak interpolation)."""
    if len(samples) < 16:
        raise ValueError("Need at least 16 samples to find a frequency")
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(len(samples))))
    spectrum[0] = 0.0  # DC is not a tone
    peak = int(np.argmax(spectrum))
    offset = 0.0
    if 0 < peak < len(spectrum) - 1:
        a, b, c = np.log(spectrum[peak - 1 : peak + 2] + 1e-12)
        denominator = a - 2 * b + c
        offset = 0.5 * (a - c) / denominator if denominator else 0.0
    return float((peak + offset) * sample_rate / len(samples))


def tone_amplitude(samples: npt.NDArray[np.floating], frequency_hz: float, sample_rate: int) -> float:
    """The amplitude (peak, in full-scale units) of the tone at `frequency_hz` in `samples`: the
    Hann-windowed spectrum's strongest bin within 2 % of it, scaled so a lone sine of amplitude
    `a` reads `a`. Ratios of two readings measure a gain (ducking) whatever the codec did."""
    if len(samples) < 16:
        raise ValueError("Need at least 16 samples to measure a tone")
    window = np.hanning(len(samples))
    spectrum = np.abs(np.fft.rfft(samples * window)) * 2 / window.sum()
    bins = np.fft.rfftfreq(len(samples), 1 / sample_rate)
    near = np.abs(bins - frequency_hz) <= max(0.02 * frequency_hz, 2 * sample_rate / len(samples))
    return float(spectrum[near].max())


async def collect(track: MediaStreamTrack, seconds: float) -> list[Frame | Packet[Any]]:
    """Every frame `track` delivers within `seconds` (maybe none: a test of silence needs that too)."""
    frames: list[Frame | Packet[Any]] = []
    deadline = asyncio.get_running_loop().time() + seconds

    async def gather() -> None:
        while True:
            frames.append(await track.recv())

    with contextlib.suppress(TimeoutError, MediaStreamError):  # time is up, or the track ended
        await asyncio.wait_for(gather(), max(0.0, deadline - asyncio.get_running_loop().time()))
    return frames
