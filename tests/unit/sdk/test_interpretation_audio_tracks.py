"""The SDK's interpretation audio: the cough gate on an interpreter's microphone, and the ear that
plays the mix in steady 20 ms frames."""

from __future__ import annotations

from collections.abc import Hashable, Mapping

import numpy as np
import pytest
from aiortc.mediastreams import MediaStreamError
from av import AudioFrame

from parley.interpretation.mixer import FRAME, SAMPLE_RATE, Listening, Mixer
from parley.media.sources import ToneAudioTrack, dominant_frequency, samples_of, tone_amplitude
from parley.sdk.audio import CoughGate, EarTrack

pytestmark = pytest.mark.anyio


async def audio(track: CoughGate | EarTrack) -> AudioFrame:
    frame = await track.recv()
    assert isinstance(frame, AudioFrame)
    return frame


def push_frame(mixer: Mixer, index: int, floor: ToneAudioTrack, channel: ToneAudioTrack) -> None:
    """Frame `index` of a floor feed (user 7) and of the Russian channel, as decoded audio arrives."""
    mixer.push(7, samples_of([floor.frame(index * FRAME)]).astype(np.float32))
    mixer.push("ru", samples_of([channel.frame(index * FRAME)]).astype(np.float32))


async def test_an_open_gate_passes_the_microphone_through() -> None:
    gate = CoughGate(ToneAudioTrack(697.0))
    frames = [await audio(gate) for _ in range(10)]
    assert [f.pts for f in frames] == [i * FRAME for i in range(10)]
    assert abs(dominant_frequency(samples_of(frames), SAMPLE_RATE) - 697.0) < 2
    gate.stop()


async def test_a_muted_gate_sends_silence_of_the_same_length_and_timing() -> None:
    gate = CoughGate(ToneAudioTrack(697.0))
    spoken = await audio(gate)
    gate.muted = True
    coughed = [await audio(gate) for _ in range(3)]
    for frame in coughed:
        assert frame.samples == spoken.samples and frame.sample_rate == spoken.sample_rate
        assert frame.format.name == spoken.format.name and frame.layout.name == spoken.layout.name
        assert frame.time_base == spoken.time_base
        assert not samples_of([frame]).any()
    assert [f.pts for f in coughed] == [FRAME, 2 * FRAME, 3 * FRAME]  # the stream's timing runs on
    gate.muted = False
    released = await audio(gate)
    assert released.pts == 4 * FRAME and tone_amplitude(samples_of([released]), 697.0, SAMPLE_RATE) > 0.4
    gate.stop()


async def test_stopping_the_gate_stops_the_microphone() -> None:
    microphone = ToneAudioTrack(440.0)
    gate = CoughGate(microphone)
    gate.stop()
    assert gate.readyState == "ended" and microphone.readyState == "ended"
    with pytest.raises(MediaStreamError):
        await gate.recv()


async def test_the_ear_plays_20_ms_mono_frames_at_48_khz_with_increasing_timestamps() -> None:
    ear = EarTrack(Mixer(), dict)
    frames = [await audio(ear) for _ in range(4)]
    for frame in frames:
        assert frame.samples == FRAME and frame.sample_rate == SAMPLE_RATE
        assert frame.format.name == "s16" and frame.layout.name == "mono"
        assert frame.time_base is not None and frame.time_base * SAMPLE_RATE == 1
    assert [f.pts for f in frames] == [0, FRAME, 2 * FRAME, 3 * FRAME]
    assert not samples_of(frames).any()  # nothing pushed: silence, not an error
    ear.stop()
    with pytest.raises(MediaStreamError):
        await ear.recv()


async def test_the_ear_plays_the_channel_over_the_ducked_floor() -> None:
    mixer = Mixer()
    floor, channel = ToneAudioTrack(440.0), ToneAudioTrack(697.0)
    listening = Listening(channel="ru", ducking=0.2, live=True)
    ear = EarTrack(mixer, lambda: {7: listening.floor_gain(), "ru": 1.0})
    push_frame(mixer, 0, floor, channel)
    frames = []
    for index in range(1, 16):  # two frames ahead (the prebuffer), then one in and one out
        push_frame(mixer, index, floor, channel)
        frames.append(await audio(ear))
    heard = samples_of(frames)
    assert abs(dominant_frequency(heard, SAMPLE_RATE) - 697.0) < 2
    assert tone_amplitude(heard, 697.0, SAMPLE_RATE) == pytest.approx(0.5, rel=0.05)
    assert tone_amplitude(heard, 440.0, SAMPLE_RATE) == pytest.approx(0.1, rel=0.05)
    ear.stop()


async def test_the_ear_asks_for_the_gains_at_every_step_so_a_change_is_heard_in_the_next_frame() -> None:
    mixer = Mixer()
    floor, channel = ToneAudioTrack(440.0), ToneAudioTrack(697.0)
    listening = Listening()  # the floor, until the switch
    asked: list[Mapping[Hashable, float]] = []

    def gains() -> Mapping[Hashable, float]:
        current = {7: listening.floor_gain(), "ru": 0.0 if listening.channel is None else 1.0}
        asked.append(current)
        return current

    ear = EarTrack(mixer, gains)
    push_frame(mixer, 0, floor, channel)
    frames = []
    for index in range(1, 12):
        push_frame(mixer, index, floor, channel)
        if index == 6:
            listening = Listening(channel="ru", relay=True)  # an interpreter relaying: channel alone
        frames.append(await audio(ear))
    assert len(asked) == len(frames) == 11
    first = samples_of(frames[5:6])
    assert tone_amplitude(first, 697.0, SAMPLE_RATE) > 10 * tone_amplitude(first, 440.0, SAMPLE_RATE)
    before, after = samples_of(frames[:5]), samples_of(frames[5:])
    assert abs(dominant_frequency(before, SAMPLE_RATE) - 440.0) < 5
    assert tone_amplitude(before, 697.0, SAMPLE_RATE) < 0.01
    assert abs(dominant_frequency(after, SAMPLE_RATE) - 697.0) < 5
    assert tone_amplitude(after, 440.0, SAMPLE_RATE) < 0.01
    ear.stop()
