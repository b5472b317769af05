"""How fast each device may send video: lowered while a receiver of it keeps losing packets, raised
again once none has for a while. A sans-IO core; the media plane feeds it Janus's reports and a
clock, and tells publishers the caps it returns.

Why the server decides: Janus forwards each stream exactly as its publisher sends it (no
simulcast), and ignores what subscribers say about their own bandwidth. A delegate on a 1 Mbit/s
hotel link who receives two others' video at the room's full rate gets more than the link
carries: the router's queue overflows and a third of the packets are lost, far more than NACKs can
repair, and the picture never settles. The only rate that can change is the sender's, which
Janus sets by REMB (VideoRoom `configure` with a `bitrate`). Without simulcast every receiver of
a feed gets the same stream, so the feed runs at what its slowest receiver can take: better a
softer picture for everyone than a frozen one for some.

The signal is Janus's `slowlink` event: a subscriber's receiver reports (RTCP) showed more than
`SLOWLINK_THRESHOLD` packets of one stream lost within a second, counting only what NACKs did not
bring back before the report. Random loss (a percent, or short bursts) rarely does that twice
in a row; a queue that overflows does it every second. So a cap falls only when the same
subscriber reports the same stream slow twice within `SUSTAINED` seconds, at most once per
`SETTLE` (the encoder needs that long to follow a REMB and the queue to drain), and it rises by a
smaller step once no receiver of the feed has been slow for `CALM` seconds: a loss-based
increase-decrease loop, as a sender's congestion control would run, but on what receivers say.
A feed published into a room starts at the lowest cap the room's feeds have: every device
receives every feed, so the receivers that lowered the others will receive the newcomer too.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

#: bit/s: the most a device's video may use, and where every cap starts.
CEILING = 400_000
#: bit/s: the least; below this VP8 at the cameras' sizes no longer shows faces.
FLOOR = 100_000
#: Lost packets of one stream within a second that make Janus report a slow link.
SLOWLINK_THRESHOLD = 5
DECREASE = 0.75
INCREASE = 1.15
SUSTAINED = 2.5
SETTLE = 2.0
CALM = 8.0


@dataclass
class _Feed:
    room: int
    cap: int = CEILING
    changed: float = -math.inf
    slow: float = -math.inf  # when a receiver of it last reported a slow link


class VideoCaps:
    """The video cap of every published feed, from the slow-link reports of its subscribers."""

    def __init__(self) -> None:
        self._feeds: dict[int, _Feed] = {}
        self._reports: dict[tuple[int, int, str], float] = {}  # (subscriber, feed, media): last slow

    def cap(self, feed: int) -> int:
        return self._feeds[feed].cap if feed in self._feeds else CEILING

    def published(self, room: int, feed: int) -> int:
        """A (new) publisher for `feed` in `room`; returns the cap it starts at."""
        others = [f.cap for key, f in self._feeds.items() if f.room == room and key != feed]
        self._feeds[feed] = _Feed(room, min(others, default=CEILING))
        return self._feeds[feed].cap

    def slow(self, subscriber: int, feed: int, media: str, now: float) -> int | None:
        """Janus reported `subscriber` losing many packets of `feed`'s `media` stream in the last
        second. Returns the feed's new cap when this lowers it, else None."""
        key = (subscriber, feed, media)
        sustained = now - self._reports.get(key, -math.inf) <= SUSTAINED
        self._reports[key] = now
        entry = self._feeds.get(feed)
        if entry is None:  # a report racing the feed's own publish or drop
            return None
        entry.slow = now
        if not sustained or entry.cap <= FLOOR or now - entry.changed < SETTLE:
            return None
        entry.cap = max(FLOOR, int(entry.cap * DECREASE))
        entry.changed = now
        return entry.cap

    def tick(self, now: float) -> list[tuple[int, int]]:
        """Call every second or two: the (feed, cap) pairs that rise now, no receiver of them
        having been slow for `CALM` seconds."""
        raised: list[tuple[int, int]] = []
        for feed, entry in self._feeds.items():
            if entry.cap < CEILING and now - max(entry.slow, entry.changed) >= CALM:
                entry.cap = min(CEILING, int(entry.cap * INCREASE))
                entry.changed = now
                raised.append((feed, entry.cap))
        return raised

    def forget(self, device: int) -> None:
        """The device is gone: its feed, and its reports as a subscriber and as a feed."""
        self._feeds.pop(device, None)
        self._reports = {k: t for k, t in self._reports.items() if device not in k[:2]}
