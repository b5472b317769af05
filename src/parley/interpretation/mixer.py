"""A listener's ear: the chosen channel over the floor turned down (sans-IO, numpy).

Decoded audio arrives per feed, in bursts and with jitter; the ear plays in steady 20 ms steps.
Each source gets a `SourceQueue`: it holds back until it has `PREBUFFER` of audio (so jitter does
not tear the sound), plays from then on, and buffers again after it runs dry. A queue never holds
more than `MAX_BUFFER`: when a source runs ahead, its oldest audio goes, so delay stays bounded.
A backlog (after the process stalled, or a burst) that lasts `DRAIN_AFTER` is cut back to
`PREBUFFER` in one step: one small skip, rather than that much more delay for good.

A receiver that stops getting packets (a booth mate muted at Janus) keeps its last few frames
(aiortc's jitter buffer holds 4); when packets come again it delivers those first, with
timestamps that run straight on from before the pause. `Resumption` tells them apart, so the
start of an interpreter's turn is not the end of its previous one.

Sources are the floor feeds (one queue each, summed: two delegates may talk at once) and the
channel (ONE queue for the whole booth). A booth's feeds are one voice: the server lets Janus
forward only the live interpreter, and at a handover the incoming voice follows the outgoing one
in the same queue, never mixed over it and without a gap of its own making.

`Listening` says what this device hears: the floor; a language (its channel at full level over
the floor at the summit's ducking level, while the booth has someone live); or, for an
interpreter relaying from another booth, that channel alone.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Hashable, Mapping
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

SAMPLE_RATE = 48000
FRAME = SAMPLE_RATE // 50  # 20 ms, Opus's frame and the ear's step
PREBUFFER = 2 * FRAME
MAX_BUFFER = 10 * FRAME
DRAIN_AFTER = 25  # steps (0.5 s) spent with more than a frame of audio beyond PREBUFFER
HELD_PAUSE = 0.25  # s: a frame this late that still continues the previous one was held back

Samples = npt.NDArray[np.float32]


class SourceQueue:
    """One source's audio, waiting to be played (mono float32 at 48 kHz)."""

    def __init__(self) -> None:
        self._chunks: deque[Samples] = deque()
        self._held = 0
        self._behind = 0  # consecutive steps with a backlog
        self.playing = False
        self.dropped = 0  # samples discarded because the source ran too far ahead

    def __len__(self) -> int:
        return self._held

    def push(self, samples: Samples) -> None:
        self._chunks.append(samples)
        self._held += len(samples)
        self._drop_to(MAX_BUFFER)
        if not self.playing and self._held >= PREBUFFER:
            self.playing = True

    def _drop_to(self, limit: int) -> None:
        """Discard the oldest audio until at most `limit` samples are held."""
        while self._held > limit:
            excess = self._held - limit
            head = self._chunks[0]
            if len(head) <= excess:
                self._chunks.popleft()
                cut = len(head)
            else:
                self._chunks[0] = head[excess:]
                cut = excess
            self._held -= cut
            self.dropped += cut

    def pull(self, n: int) -> Samples:
        """The next `n` samples; silence while buffering, and silence fills a run dry."""
        out = np.zeros(n, dtype=np.float32)
        if not self.playing:
            return out
        filled = 0
        while filled < n and self._chunks:
            head = self._chunks[0]
            take = min(n - filled, len(head))
            out[filled : filled + take] = head[:take]
            filled += take
            if take == len(head):
                self._chunks.popleft()
            else:
                self._chunks[0] = head[take:]
        self._held -= filled
        if not self._held:
            self.playing = False
        self._behind = self._behind + 1 if self._held > PREBUFFER + FRAME else 0
        if self._behind >= DRAIN_AFTER:
            self._drop_to(PREBUFFER)
            self._behind = 0
        return out


class Resumption:
    """Tells a receiver's fresh frames from those it held back over a pause (see above)."""

    def __init__(self) -> None:
        self._last: tuple[int, float] | None = None  # the previous frame's pts and arrival
        self._replaying = False

    def fresh(self, pts: int, samples: int, now: float) -> bool:
        """Whether a frame (its timestamp, length, and when it arrived) is new audio."""
        if self._last is not None and pts == self._last[0] + samples:
            if now - self._last[1] > HELD_PAUSE:
                self._replaying = True  # late, yet straight on from before: it was held
        else:
            self._replaying = False  # a jump in timestamps: what the sender says now
        self._last = (pts, now)
        return not self._replaying


@dataclass(frozen=True)
class Listening:
    """What one device hears. `channel` None is the floor."""

    channel: str | None = None
    relay: bool = False  # an interpreter relaying `channel`: that channel instead of the floor
    ducking: float = 0.2
    live: bool = False  # the channel's booth has a live interpreter

    def floor_gain(self) -> float:
        if self.channel is None:
            return 1.0
        if self.relay:
            return 0.0
        return self.ducking if self.live else 1.0


class Mixer:
    """Sources by key (a floor feed's user id, or a channel's language) mixed into one signal."""

    def __init__(self) -> None:
        self.queues: dict[Hashable, SourceQueue] = {}

    def push(self, source: Hashable, samples: Samples) -> None:
        self.queues.setdefault(source, SourceQueue()).push(samples)

    def forget(self, source: Hashable) -> None:
        self.queues.pop(source, None)

    def pull(self, n: int, gains: Mapping[Hashable, float]) -> Samples:
        """The next `n` samples of the mix; sources without a gain are drained but not heard
        (so they do not pile up while not listened to)."""
        mix = np.zeros(n, dtype=np.float32)
        for source, queue in self.queues.items():
            samples = queue.pull(n)
            gain = gains.get(source, 0.0)
            if gain:
                mix += gain * samples
        return np.clip(mix, -1.0, 1.0)
