"""What one SDK device decoded of another's feed, frame by frame: the times WAN benchmarks measure from.

`RemoteFeed` keeps the decode times of only its latest frames (`video_times`, `audio_times`); a
`FeedWatch` copies each new one out while `sampling` runs, so a benchmark can ask afterwards for the
longest freeze, the gaps in audio, or the first frame decoded after a moment, over a whole call.
Used by bench/wan_video.py and bench/wan.py (which find it here, with the other call helpers).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import AsyncIterator, Sequence

from parley.sdk.client import ParleyClient, RemoteFeed

SAMPLE_EVERY = 0.02  # s: well inside what a feed keeps (600 video frames, 150 audio frames)


class FeedWatch:
    """The decode times of `other`'s video and audio at `me`, from the watch's start on.

    A feed dropped and subscribed again is a new `RemoteFeed`, its counts from zero: the watch
    follows it, so frames decoded on the new subscription count as the same feed's."""

    def __init__(self, me: ParleyClient, other: ParleyClient) -> None:
        self.me, self.other = me, other
        self.video: list[float] = []
        self.audio: list[float] = []
        self._feed = me.feeds.get(other.user_id)
        self._seen = (self._feed.video_frames, self._feed.audio_frames) if self._feed else (0, 0)

    @property
    def name(self) -> str:
        return f"{self.other.people[0]} seen by {self.me.people[0]}"

    def sample(self) -> None:
        feed = self.me.feeds.get(self.other.user_id)
        if feed is not self._feed:
            self._feed, self._seen = feed, (0, 0)
        if feed is None:
            return
        video, audio = self._seen
        self.video.extend(_newest(feed.video_times, feed.video_frames - video))
        self.audio.extend(_newest(feed.audio_times, feed.audio_frames - audio))
        self._seen = (feed.video_frames, feed.audio_frames)

    def video_gaps(self, start: float, end: float) -> list[float]:
        return gaps(self.video, start, end)

    def video_spans(self, start: float, end: float) -> list[tuple[float, float]]:
        return spans(self.video, start, end)

    def audio_gaps(self, start: float, end: float) -> list[float]:
        return gaps(self.audio, start, end)

    def first_video_after(self, moment: float) -> float | None:
        return next((t for t in self.video if t > moment), None)


def _newest(times: Sequence[float], count: int) -> list[float]:
    return list(times)[-count:] if count > 0 else []


def spans(times: list[float], start: float, end: float) -> list[tuple[float, float]]:
    """The stretches between `start`, each time within (start, end) and `end`, as (from, to): a
    stretch that runs to `end` (a freeze that has not ended) counts as long as it has lasted."""
    return list(itertools.pairwise([start, *(t for t in times if start < t < end), end]))


def gaps(times: list[float], start: float, end: float) -> list[float]:
    """How long each of `spans` lasted."""
    return [b - a for a, b in spans(times, start, end)]


def frames_sent(client: ParleyClient) -> int:
    """Video frames the client's sender passed through its frame transform (sealed)."""
    stats = client.publish_stats.get("video")
    return stats.encrypted if stats else 0


def video_of(me: ParleyClient, other: ParleyClient) -> int:
    """Video frames `me` has decoded of `other`'s current subscription."""
    feed: RemoteFeed | None = me.feeds.get(other.user_id)
    return feed.video_frames if feed else 0


@contextlib.asynccontextmanager
async def sampling(watches: list[FeedWatch]) -> AsyncIterator[None]:
    """Every watch samples its feed every SAMPLE_EVERY, in a task of its own, until the block ends."""

    async def sample_all() -> None:
        while True:
            for watch in watches:
                watch.sample()
            await asyncio.sleep(SAMPLE_EVERY)

    task = asyncio.create_task(sample_all())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        for watch in watches:
            watch.sample()
