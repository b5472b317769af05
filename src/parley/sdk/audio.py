"""The SDK's audio tracks for interpretation: the ear (what this device hears, mixed) and the
cough gate (an interpreter's microphone with its cough key).

Both are aiortc `MediaStreamTrack`s, so an application plays the ear like any track (or a bot
records it) and publishes the gated microphone like any track.
"""

from __future__ import annotations

import asyncio
import fractions
import time
from collections.abc import Callable, Hashable, Mapping
from typing import Any

import numpy as np
import numpy.typing as npt
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from av import AudioFrame
from av.frame import Frame
from av.packet import Packet

from parley.interpretation.mixer import FRAME, SAMPLE_RATE, Mixer

_TIME_BASE = fractions.Fraction(1, SAMPLE_RATE)


def mono_frame(samples: npt.NDArray[np.floating], pts: int) -> AudioFrame:
    """Mono float samples in [-1, 1] as a 48 kHz s16 frame starting at `pts`."""
    pcm = np.round(np.clip(samples, -1.0, 1.0) * 32767).astype(np.int16).reshape(1, -1)
    frame = AudioFrame.from_ndarray(pcm, format="s16", layout="mono")
    frame.sample_rate = SAMPLE_RATE
    frame.pts = pts
    frame.time_base = _TIME_BASE
    return frame


class PacedAudioTrack(MediaStreamTrack):
    """Mono audio from `produce(n)`, 20 ms at a time, paced in real time (as a sound card takes it)."""

    kind = "audio"

    def __init__(self, produce: Callable[[int], npt.NDArray[np.floating]]) -> None:
        super().__init__()
        self.produce = produce
        self._start: float | None = None
        self._pts = 0

    async def recv(self) -> Frame:
        if self.readyState != "live":
            raise MediaStreamError
        if self._start is None:
            self._start = time.monotonic()
        else:
            await asyncio.sleep(self._start + self._pts / SAMPLE_RATE - time.monotonic())
        frame = mono_frame(self.produce(FRAME), self._pts)
        self._pts += FRAME
        return frame


class EarTrack(PacedAudioTrack):
    """The mix. `gains()` is asked at every step, so a change of channel, or a booth going live,
    is heard within one frame."""

    def __init__(self, mixer: Mixer, gains: Callable[[], Mapping[Hashable, float]]) -> None:
        super().__init__(lambda n: mixer.pull(n, gains()))
        self.mixer = mixer


class CoughGate(MediaStreamTrack):
    """A microphone with a cough key: while `muted`, silence of the same length goes out instead.

    The gate acts here, before encryption: muting does not wait for the server (which also stops
    forwarding a coughing interpreter), and the stream's timing runs on undisturbed.
    """

    kind = "audio"

    def __init__(self, source: MediaStreamTrack) -> None:
        super().__init__()
        self.source = source
        self.muted = False

    async def recv(self) -> Frame | Packet[Any]:
        frame = await self.source.recv()
        if not self.muted or not isinstance(frame, AudioFrame):
            return frame
        silent = AudioFrame(format=frame.format.name, layout=frame.layout.name, samples=frame.samples)
        for plane in silent.planes:
            plane.update(bytes(plane.buffer_size))
        silent.sample_rate, silent.pts, silent.time_base = frame.sample_rate, frame.pts, frame.time_base
        return silent

    def stop(self) -> None:
        super().stop()
        self.source.stop()
