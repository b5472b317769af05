"""What a WAN costs an SDK call, with DAVE encryption and without, on each WAN profile.

Run: scripts/netns .venv/bin/python bench/wan.py [--profile NAME] [--seconds S]

The real server and its Janus in the run's namespace, delegations A and B each behind a NAT router
with the profile's impairer (tests/wan, as a `--wan` test run has them). For each profile (all of
them unless `--profile` names one) the same call runs twice in this process, on the same WAN and
seed: first with DAVE frame encryption, as Parley runs, then with encryption off. The call: A joins,
B1 joins, they call for S seconds; B2 (delegation B) joins and, once it decodes both, leaves (a key
rotation each time); the call goes on for S seconds more. Each figure is printed for both runs and
as the ratio encrypted/plain:

- join: from B1's `join()` to its first decoded video frame of A; from B2's `join()` to the first
  decoded of A and of B1, whichever came later;
- the longest video freeze: the longest time without a decoded frame on either feed between A and
  B1 (A seen by B1, B1 seen by A), from when both flow to the end; each freeze over 2 s is also
  printed on its own, with when it began beside B2's join and leave (the key changes);
- video frames decoded: of the frames A and B1 sealed meanwhile, the share the other decoded;
- audio: the longest gap between decoded audio frames on those two feeds, and how many exceeded
  100 ms: time with nothing to play (an SDK device fills a lost packet, docs/testing-wan.md, but a
  jitter buffer or decoder that stalls shows here);
- recovery after the key rotation: from B2's `leave()` until A has decoded a video frame that B1
  sealed after B1 entered the epoch without B2, and B1 one of A's (the later of the two);
- frames that did not decrypt, over the whole call;
- the alarms A and B1 raised about the key group (`ParleyClient.alarms`, docs/security.md): a
  device shown in the call that has not joined the key group, for one.

Encryption off is a benchmark seam, never a setting: `Seam` replaces the SDK client's sealer and
opener factories (`ParleyClient._sealer`, `parley.sdk.client._opener`) for the run, with pass-through
transforms for sender and receiver alike, as bench/call.py's `direct_call(e2ee=False)` attaches
none. Everything else stays: the frame-transform hooks and their recovery (NACKs, keyframe requests),
the DAVE group and its key rotations, which the plain frames simply do not depend on.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import hashlib
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from calls import joined, summit_links, until
from conftest import serving
from feeds import FeedWatch, frames_sent, sampling, video_of
from wan.profiles import PROFILES, Profile, named

import parley.sdk.client as client_module
from parley.media.frame_transform import FrameTransform
from parley.sdk.client import ParleyClient
from parley.sdk.member import DaveMember, Media
from parley.summit.model import Role

JOIN_TIMEOUT = 60.0  # s: a join on `satellite` takes several round trips of 600 ms
RECOVERY_TIMEOUT = 30.0  # s: past this, the run reports no recovery
LONG_AUDIO_GAP = 0.1  # s: five Opus frames
LONG_FREEZE = 2.0  # s: a video freeze this long is reported with where in the call it fell


def _digest(frame: bytes) -> bytes:
    return hashlib.blake2b(frame, digest_size=16).digest()


def _passing(frame: bytes) -> bytes:
    return frame


class Seam:
    """Benchmark seam: stands in for the client's sealer and opener factories while `installed`.

    With `e2ee` the transforms are the client's own; without, they hand frames on unchanged. Either
    way, once `arm`ed, it notes the video frames each sender sealed after it moved to a new epoch
    (its DAVE member executed a transition since), and when each receiver first opened one of them:
    `opened[(receiver, sender)]`."""

    def __init__(self) -> None:
        self._since: dict[int, int] | None = None  # sender -> transitions it had executed when armed
        self._fresh: dict[int, set[bytes]] = {}
        self.opened: dict[tuple[int, int], float] = {}

    @contextlib.contextmanager
    def installed(self, e2ee: bool) -> Iterator[None]:
        sealer, opener = ParleyClient._sealer, client_module._opener

        def seal_factory(client: ParleyClient, member: DaveMember, media: Media) -> FrameTransform:
            inner = sealer(client, member, media) if e2ee else _passing
            return lambda frame: self._sealed(member, media, frame, inner)

        def open_factory(member: DaveMember, sender: int, media: Media) -> FrameTransform:
            inner = opener(member, sender, media) if e2ee else _passing
            return lambda frame: self._opened(member, sender, media, inner(frame))

        ParleyClient._sealer = seal_factory  # type: ignore[method-assign,assignment]
        client_module._opener = open_factory
        try:
            yield
        finally:
            ParleyClient._sealer = sealer  # type: ignore[method-assign]
            client_module._opener = opener

    def arm(self, *senders: ParleyClient) -> None:
        self._since = {c.user_id: len(c.member.executed_transitions) if c.member else 0 for c in senders}
        self._fresh = {c.user_id: set() for c in senders}

    def _sealed(self, member: DaveMember, media: Media, frame: bytes, inner: FrameTransform) -> bytes | None:
        armed_at = (self._since or {}).get(member.user_id)
        if media is Media.VIDEO and armed_at is not None and len(member.executed_transitions) > armed_at:
            self._fresh[member.user_id].add(_digest(frame))
        return inner(frame)

    def _opened(self, member: DaveMember, sender: int, media: Media, plain: bytes | None) -> bytes | None:
        pair = (member.user_id, sender)
        fresh = self._fresh.get(sender) if media is Media.VIDEO else None
        if plain is not None and fresh and pair not in self.opened and _digest(plain) in fresh:
            self.opened[pair] = time.monotonic()
        return plain


@dataclasses.dataclass(frozen=True)
class Figures:
    """One call's figures, or their means over several (a count's mean may be fractional)."""

    join_b1: float
    join_b2: float
    longest_freeze: float
    decoded: float
    longest_audio_gap: float
    long_audio_gaps: float
    recovery: float | None
    not_decrypted: float
    alarms: float

    @classmethod
    def mean(cls, calls: list[Figures]) -> Figures:
        """Each figure's mean; a recovery that did not happen in one call makes the mean None."""
        means: dict[str, Any] = {}
        for field in dataclasses.fields(cls):
            values = [getattr(c, field.name) for c in calls]
            means[field.name] = None if None in values else statistics.fmean(values)
        return cls(**means)


async def _join_time(device: ParleyClient, others: list[ParleyClient], started: float) -> float:
    """From `started` (before its `join()`) to the device's first decoded video frame of each of
    `others`, the latest of them (a feed keeps the times of its first 600 frames)."""
    try:
        await until(lambda: all(video_of(device, o) > 0 for o in others), JOIN_TIMEOUT, "video at a joiner")
    except AssertionError as e:
        raise AssertionError(f"{e}: {_receiving(device, others)}") from None
    return max(device.feeds[o.user_id].video_times[0] for o in others) - started


def _receiving(device: ParleyClient, others: list[ParleyClient]) -> str:
    """What `device` receives of each of `others`, and their publishers' state: for a join that
    timed out, where it stopped."""
    parts = []
    for other in others:
        feed = device.feeds.get(other.user_id)
        publisher = other.publisher.connectionState if other.publisher else "none"
        if feed is None:
            parts.append(f"{other.people[0]} (publisher {publisher}): no feed")
            continue
        subscription = feed.pc.connectionState if feed.pc else "none"
        parts.append(
            f"{other.people[0]} (publisher {publisher}): subscription {subscription}, "
            f"{feed.video_frames} video / {feed.audio_frames} audio frames, {feed.stats.get('video')}"
        )
    return "; ".join(parts)


async def call(profile: Profile, seconds: float, e2ee: bool) -> Figures:
    seam = Seam()
    with seam.installed(e2ee), tempfile.TemporaryDirectory() as tmp:
        async with serving(Path(tmp), profile, test_hooks=False) as parley:
            roles = [("Delegation A", Role.PRINCIPAL), ("Delegation B", Role.PRINCIPAL)]
            links = summit_links(parley, [*roles, ("Delegation B", Role.DELEGATE)])
            async with joined(links[0], "A") as a:
                started = time.monotonic()
                async with joined(links[1], "B1") as b1:
                    join_b1 = await _join_time(b1, [a], started)
                    await until(lambda: video_of(a, b1) > 0, JOIN_TIMEOUT, "A to see B1")
                    watches = [FeedWatch(b1, a), FeedWatch(a, b1)]
                    sent = -sum(map(frames_sent, (a, b1)))
                    start = time.monotonic()
                    async with sampling(watches):
                        await asyncio.sleep(seconds)
                        started = time.monotonic()
                        async with joined(links[2], "B2") as b2:
                            join_b2 = await _join_time(b2, [a, b1], started)
                            marks = {"B2's join()": started, "B2 saw A and B1": started + join_b2}
                            seam.arm(a, b1)
                            departure = time.monotonic()
                            await b2.leave()
                        recovery = await _recovered(seam, watches, departure)
                        await asyncio.sleep(seconds)
                    end = time.monotonic()
                    sent += sum(map(frames_sent, (a, b1)))
                    stats = [w.me.feeds[w.other.user_id].stats["video"] for w in watches]
                    alarms = len(a.alarms) + len(b1.alarms)
    marks["B2's leave()"] = departure
    for line in _long_freezes(watches, start, end, marks):
        print(f"{'E2EE' if e2ee else 'plain'} call: {line}", file=sys.stderr)
    audio_gaps = [g for w in watches for g in w.audio_gaps(start, end)]
    return Figures(
        join_b1=join_b1,
        join_b2=join_b2,
        longest_freeze=max(g for w in watches for g in w.video_gaps(start, end)),
        decoded=sum(len(w.video) for w in watches) / max(sent, 1),
        longest_audio_gap=max(audio_gaps),
        long_audio_gaps=sum(g > LONG_AUDIO_GAP for g in audio_gaps),
        recovery=recovery,
        not_decrypted=sum(s.failed for s in stats),
        alarms=alarms,
    )


def _long_freezes(
    watches: list[FeedWatch], start: float, end: float, marks: dict[str, float]
) -> Iterator[str]:
    """Each freeze over LONG_FREEZE, and where it fell beside the call's key changes (B2's join
    and leave): whether a long freeze comes with a key change or with loss alone."""
    when = ", ".join(f"{name} at {t - start:.1f} s" for name, t in marks.items())
    for watch in watches:
        for since, to in watch.video_spans(start, end):
            if to - since > LONG_FREEZE:
                yield (
                    f"{watch.name}: no video for {to - since:.2f} s from {since - start:.1f} s"
                    f" into the call ({when})"
                )


async def _recovered(seam: Seam, watches: list[FeedWatch], departure: float) -> float | None:
    """Seconds from `departure` until every watch decoded a frame sealed in the new epoch; None if
    that did not happen within RECOVERY_TIMEOUT."""

    def fresh_decoded(w: FeedWatch) -> float | None:
        opened = seam.opened.get((w.me.user_id, w.other.user_id))
        return None if opened is None else w.first_video_after(opened)

    with contextlib.suppress(AssertionError):
        await until(lambda: all(fresh_decoded(w) for w in watches), RECOVERY_TIMEOUT, "fresh video")
    times = [fresh_decoded(w) for w in watches]
    return None if None in times else max(t for t in times if t is not None) - departure


ROWS: list[tuple[str, Callable[[Figures], float | None], str]] = [
    ("join, B1: to the first video of A", lambda f: f.join_b1, "s"),
    ("join, B2: to the first video of A and B1", lambda f: f.join_b2, "s"),
    ("longest video freeze", lambda f: f.longest_freeze, "s"),
    ("video frames decoded", lambda f: f.decoded, "%"),
    ("longest audio gap", lambda f: f.longest_audio_gap, "s"),
    (f"audio gaps over {LONG_AUDIO_GAP * 1000:.0f} ms", lambda f: f.long_audio_gaps, ""),
    ("recovery after the key rotation", lambda f: f.recovery, "s"),
    ("video frames not decrypted", lambda f: f.not_decrypted, ""),
    ("key group alarms at A and B1", lambda f: f.alarms, ""),
]


def _shown(value: float | None, unit: str) -> str:
    if value is None:
        return f"none in {RECOVERY_TIMEOUT:.0f} s"
    if unit == "%":
        return f"{value:.1%}"
    return f"{value:.2f} s" if unit == "s" else f"{value:g}"


def _ratio(encrypted: float | None, plain: float | None) -> str:
    if encrypted is None or plain is None:
        return "-"
    if plain == 0:
        return "1.00" if encrypted == 0 else "-"
    return f"{encrypted / plain:.2f}"


def report(profile: Profile, seconds: float, rounds: int, encrypted: Figures, plain: Figures) -> None:
    print(
        f"\n{profile.name}: {profile.rtt * 1000:.0f} ms round trip; seed 0; {seconds:g} s of call, "
        f"B2 joins and leaves, {seconds:g} s more; mean of {rounds} call(s) each"
    )
    print(f"  {'':42} {'E2EE':>12} {'plain':>12} {'E2EE/plain':>11}")
    for label, figure, unit in ROWS:
        e, p = figure(encrypted), figure(plain)
        print(f"  {label:42} {_shown(e, unit):>12} {_shown(p, unit):>12} {_ratio(e, p):>11}")


async def compare(profile: Profile, seconds: float, rounds: int) -> tuple[Figures, Figures]:
    """`rounds` calls each way, the first encrypted call first, then the order alternating: on a
    shared machine a later call can find it busier, and neither way should always pay for that."""
    calls: dict[bool, list[Figures]] = {True: [], False: []}
    for n in range(rounds):
        for e2ee in (True, False) if n % 2 == 0 else (False, True):
            calls[e2ee].append(await call(profile, seconds, e2ee))
    return Figures.mean(calls[True]), Figures.mean(calls[False])


async def main(profiles: list[Profile], seconds: float, rounds: int) -> None:
    print(
        "plain: DAVE frame encryption replaced by pass-through for sender and receiver "
        "(a benchmark seam in bench/wan.py, not a setting)"
    )
    for profile in profiles:
        encrypted, plain = await compare(profile, seconds, rounds)
        report(profile, seconds, rounds, encrypted, plain)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--profile", choices=sorted(PROFILES), help="one profile (default: all)")
    parser.add_argument("--seconds", type=float, default=20.0, help="call before B2 joins, and after it left")
    parser.add_argument("--rounds", type=int, default=2, help="calls each way per profile (mean)")
    args = parser.parse_args()
    chosen = [named(args.profile)] if args.profile else list(PROFILES.values())
    asyncio.run(main(chosen, args.seconds, args.rounds))
