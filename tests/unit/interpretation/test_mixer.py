"""The listener's ear: each source's queue (prebuffer, bounded delay, silence when dry) and the mix
of a channel over the floor turned down."""

from __future__ import annotations

import numpy as np
import pytest

from parley.interpretation.mixer import (
    DRAIN_AFTER,
    FRAME,
    MAX_BUFFER,
    PREBUFFER,
    Listening,
    Mixer,
    Resumption,
    Samples,
    SourceQueue,
)
from parley.media.sources import ToneAudioTrack, samples_of, tone_amplitude


def level(value: float, n: int = FRAME) -> Samples:
    return np.full(n, value, dtype=np.float32)


def numbered(index: int) -> Samples:
    """A frame whose every sample says which frame it is (1/100 per frame)."""
    return level(index / 100)


def tone(frequency: float, frames: int, amplitude: float = 0.5) -> Samples:
    track = ToneAudioTrack(frequency, amplitude=amplitude)
    return samples_of(track.frame(i * FRAME) for i in range(frames)).astype(np.float32)


def test_the_constants_are_20_ms_steps_with_a_prebuffer_below_the_cap() -> None:
    assert FRAME == 960 and PREBUFFER == 2 * FRAME and MAX_BUFFER == 10 * FRAME


def test_a_queue_plays_silence_until_it_holds_the_prebuffer() -> None:
    queue = SourceQueue()
    queue.push(numbered(1))
    assert not queue.playing and len(queue) == FRAME
    assert np.array_equal(queue.pull(FRAME), level(0.0)) and len(queue) == FRAME  # held back, not lost
    queue.push(numbered(2))
    assert queue.playing
    assert np.array_equal(queue.pull(FRAME), numbered(1))
    assert np.array_equal(queue.pull(FRAME), numbered(2))


def test_a_playing_queue_plays_on_below_the_prebuffer_until_it_runs_dry() -> None:
    queue = SourceQueue()
    for i in range(3):
        queue.push(numbered(i + 1))
    queue.pull(FRAME)
    queue.pull(FRAME)
    assert queue.playing and len(queue) == FRAME < PREBUFFER
    assert np.array_equal(queue.pull(FRAME), numbered(3))
    assert not queue.playing and len(queue) == 0


def test_a_queue_that_runs_dry_fills_with_silence_and_buffers_again() -> None:
    queue = SourceQueue()
    queue.push(level(0.5, PREBUFFER))
    out = queue.pull(PREBUFFER + FRAME)
    assert np.array_equal(out[:PREBUFFER], level(0.5, PREBUFFER))
    assert np.array_equal(out[PREBUFFER:], level(0.0))
    assert not queue.playing
    queue.push(numbered(7))  # one frame after a dry spell: held back again
    assert np.array_equal(queue.pull(FRAME), level(0.0)) and len(queue) == FRAME


def test_pulls_that_cut_across_pushed_chunks_keep_the_samples_in_order() -> None:
    queue = SourceQueue()
    signal = (np.arange(3 * FRAME) / (3 * FRAME)).astype(np.float32)
    for chunk in np.split(signal, [100, 1500, 1501]):
        queue.push(chunk)
    pulled = np.concatenate([queue.pull(n) for n in (7, 960, 1000, 913)])
    assert np.array_equal(pulled, signal) and len(queue) == 0


def test_a_source_running_ahead_loses_its_oldest_audio_so_delay_stays_bounded() -> None:
    queue = SourceQueue()
    for i in range(12):
        queue.push(numbered(i))
    assert len(queue) == MAX_BUFFER and queue.dropped == 2 * FRAME
    pulled = [queue.pull(FRAME) for _ in range(10)]
    assert [round(float(p[0]) * 100) for p in pulled] == list(range(2, 12))  # frames 0 and 1 went


def test_one_push_longer_than_the_cap_keeps_its_newest_samples() -> None:
    queue = SourceQueue()
    queue.push(numbered(1))
    long = np.arange(MAX_BUFFER + FRAME // 2, dtype=np.float32)
    queue.push(long)
    assert len(queue) == MAX_BUFFER and queue.dropped == FRAME + FRAME // 2
    assert np.array_equal(queue.pull(MAX_BUFFER), long[-MAX_BUFFER:])


def test_mixing_sums_the_floor_feeds_at_their_gains() -> None:
    mixer = Mixer()
    mixer.push(7, level(0.25, PREBUFFER))
    mixer.push(8, level(0.125, PREBUFFER))
    assert np.allclose(mixer.pull(FRAME, {7: 1.0, 8: 1.0}), 0.375)
    assert np.allclose(mixer.pull(FRAME, {7: 0.2, 8: 1.0}), 0.175)


def test_a_channel_mixes_over_the_floor_turned_down_to_the_ducking_level() -> None:
    mixer = Mixer()
    gains = {7: Listening(channel="ru", ducking=0.2, live=True).floor_gain(), "ru": 1.0}
    floor, channel = tone(440.0, 15), tone(697.0, 15)
    heard = []
    for step in np.split(np.arange(15 * FRAME), 3):  # 300 ms in 100 ms bursts: under the cap
        mixer.push(7, floor[step])
        mixer.push("ru", channel[step])
        heard += [mixer.pull(FRAME, gains) for _ in range(5)]
    signal = np.concatenate(heard)
    assert tone_amplitude(signal, 697.0, 48000) == pytest.approx(0.5, rel=0.05)
    assert tone_amplitude(signal, 440.0, 48000) == pytest.approx(0.1, rel=0.05)


def test_a_source_without_a_gain_is_drained_but_not_heard() -> None:
    mixer = Mixer()
    mixer.push("fr", level(0.5, 4 * FRAME))
    assert np.array_equal(mixer.pull(FRAME, {}), level(0.0))
    assert len(mixer.queues["fr"]) == 3 * FRAME  # it did not pile up while nobody listened
    mixer.pull(3 * FRAME, {"ru": 1.0})
    mixer.push("fr", level(0.25, PREBUFFER))
    assert np.allclose(mixer.pull(FRAME, {"fr": 1.0}), 0.25)  # fresh audio, not stale


def test_the_mix_is_clipped_to_full_scale() -> None:
    mixer = Mixer()
    for source in (1, 2):
        mixer.push(source, np.concatenate([level(0.75), level(-0.75)]))
    out = mixer.pull(PREBUFFER, {1: 1.0, 2: 1.0})
    assert np.array_equal(out, np.concatenate([level(1.0), level(-1.0)]))
    assert out.dtype == np.float32


def test_a_forgotten_source_is_gone_and_forgetting_an_unknown_one_is_harmless() -> None:
    mixer = Mixer()
    mixer.push(7, level(0.5, PREBUFFER))
    mixer.forget(7)
    mixer.forget(8)
    assert mixer.queues == {}
    assert np.array_equal(mixer.pull(FRAME, {7: 1.0}), level(0.0))


@pytest.mark.parametrize(
    ("listening", "gain"),
    [
        (Listening(), 1.0),
        (Listening(channel="ru", live=True), 0.2),
        (Listening(channel="ru", live=True, ducking=0.35), 0.35),
        (Listening(channel="ru", live=False), 1.0),
        (Listening(channel="en", relay=True, live=True), 0.0),
        (Listening(channel="en", relay=True, live=False), 0.0),
    ],
)
def test_the_floor_is_full_ducked_while_a_booth_is_live_or_off_for_a_relay(
    listening: Listening, gain: float
) -> None:
    assert listening.floor_gain() == gain


def test_a_lasting_backlog_is_cut_back_to_the_prebuffer_in_one_step() -> None:
    queue = SourceQueue()
    for index in range(1, 7):
        queue.push(numbered(index))  # 120 ms held: a stall left it behind
    for step in range(DRAIN_AFTER - 1):
        queue.push(numbered(7 + step))
        queue.pull(FRAME)  # one in, one out: the backlog would last for good
    assert len(queue) == 6 * FRAME
    queue.push(numbered(100))
    queue.pull(FRAME)
    assert len(queue) == PREBUFFER  # cut back, the newest audio kept
    assert np.array_equal(queue.pull(FRAME), numbered(7 + DRAIN_AFTER - 2))
    assert np.array_equal(queue.pull(FRAME), numbered(100))


def test_a_short_backlog_is_left_alone() -> None:
    queue = SourceQueue()
    for index in range(1, 4):
        queue.push(numbered(index))  # one frame beyond the prebuffer: ordinary jitter
    for step in range(3 * DRAIN_AFTER):
        queue.push(numbered(4 + step))
        queue.pull(FRAME)
    assert len(queue) == 3 * FRAME and queue.dropped == 0


def test_frames_held_over_a_pause_are_told_from_fresh_ones() -> None:
    resumption = Resumption()
    pts, now = 0, 100.0
    for _ in range(10):  # a turn: one frame every 20 ms
        assert resumption.fresh(pts, FRAME, now)
        pts, now = pts + FRAME, now + 0.02
    now += 5.0  # muted at Janus for five seconds; the receiver kept four frames
    for _ in range(4):
        assert not resumption.fresh(pts, FRAME, now)  # straight on from before the pause: held
        pts, now = pts + FRAME, now + 0.001
    pts += 250 * FRAME  # the timestamps jump: the sender's audio of now
    for _ in range(3):
        assert resumption.fresh(pts, FRAME, now)
        pts, now = pts + FRAME, now + 0.02


def test_a_lost_packet_or_ordinary_jitter_is_not_taken_for_a_pause() -> None:
    resumption = Resumption()
    assert resumption.fresh(0, FRAME, 0.0)
    assert resumption.fresh(2 * FRAME, FRAME, 0.04)  # a frame lost on the way
    assert resumption.fresh(3 * FRAME, FRAME, 0.2)  # late, within what jitter does
