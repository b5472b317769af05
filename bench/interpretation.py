"""What simultaneous interpretation adds to the sound's delay, on loopback in an isolated network
namespace: real Janus, real aiortc media, real DAVE encryption.

Run: scripts/netns .venv/bin/python bench/interpretation.py [--seconds S] [--handovers N]

Method. The floor speaker sends 100 ms bursts of 880 Hz every 500 ms, silence between. An
interpreter "bot" hears the floor and publishes its ear as its microphone, each frame the moment
the ear plays it (zero human delay), with 1200 Hz bursts of its own added. A floor listener hears
the floor; a channel listener the bot's channel over the floor ducked to 0.2. Every ear is played
from before its device joins, as a device's speaker would be. Every time is `time.monotonic()` in
this one process. A burst leaves when its first frame leaves its track's `recv()` (what a
microphone hands the encoder). It is heard when, in an ear (the SDK's `ear`, the mix a device
plays: a sample at its place in the 20 ms frame `recv()` has just handed out), the tone's level
over a centred 10 ms window first reaches half the level that arrives (each send leg costs a mono
source 3 dB, see HOP). One sample per burst per ear: median and p90 over the bursts of S seconds,
and how many bursts were matched.

What one receive leg holds (the floor path is one leg, the interpretation path two back to back):
- Opus encoding and DAVE encryption of each 20 ms frame as the track hands it out; Janus
  forwarding it (well under a millisecond on loopback); DAVE decryption and Opus decoding;
- Opus's lookahead: the decoded onset comes 6.5 ms late (encoded and decoded offline, the same
  onset detector reads 6.4 ms);
- aiortc's audio jitter buffer, which releases a frame once 4 more have arrived: 80 ms;
- 0 to 20 ms for the ear's next step (its 20 ms clock against the sender's);
- the ear's queue (`parley.interpretation.mixer`): it starts playing once it holds 40 ms
  (PREBUFFER), and keeps up to MAX_BUFFER (200 ms). A backlog comes whenever this process's
  event loop stalls (it runs the server and four devices; on a busy machine stalls of 30 to 130 ms
  happen, mostly while devices join): the ear catches up on its clock at once, playing silence,
  then the senders' late frames arrive together. A backlog of more than one frame beyond the
  prebuffer that lasts DRAIN_AFTER (0.5 s) is cut back to the prebuffer; a smaller one stays.
So a leg takes about 100 ms plus what its ear's queue holds (printed): less that, what is left
varies by about 10 ms from run to run (the ear's clock phase): about 95 to 110 ms for the floor
path, 185 to 215 ms for the interpretation path.

Prints one figure a line:
- floor path: speaker's mouth to a floor listener's ear;
- speaker's mouth to the interpreter's ear;
- interpreter's mouth to the channel listener's ear: the bot's own 1200 Hz bursts (the cough gate
  and MediaRelay the SDK puts before the encoder add nothing measurable here);
- the interpretation path, speaker's mouth to the channel listener's ear through the bot; the two
  legs' medians summed, as a check; what interpretation adds over the floor path, and the ratio;
- what each ear's queue held after each frame it played (median over the measurement), the event
  loop stalls during it, and the floor and interpretation paths less what their ears' queues held;
- handover: two interpreters in one booth (steady tones, a new pitch for each turn, changed while
  muted at Janus so that fresh audio is told from old), a listener on their channel; the live one
  hands over, the other takes over, N times. At the listener, per handover: from the outgoing
  feed's last decoded frame to the incoming feed's first fresh one; the stale frames the incoming
  feed delivered before that; the same passage in the listener's ear (the channel is one queue),
  and how much of it played the incoming voice's previous turn; from outside the server,
  `take_over` sent to the `booths` op reaching the listener (the server mutes the outgoing feed at
  Janus, unmutes the incoming one, then broadcasts) and to the incoming voice's first fresh frame.
  Medians over the handovers.

Stale frames: a feed muted at Janus leaves its last 4 frames in the listener's jitter buffer
(nothing follows to push them out), and the packets after the unmute continue its sequence
numbers (aiortc drops what it holds only on a jump of 16 or more), so when the feed is forwarded
again those 80 ms from the end of its previous turn come first. The SDK drops them
(`parley.interpretation.mixer.Resumption`: timestamps straight on from before a pause); the
"stale frames" figure counts any that still reached the feed (0 expected). The outgoing voice's
last 80 ms before the mute are not heard at the handover, and the feed gap is the switch plus the
incoming feed's 80 ms of prefetch.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import fractions
import itertools
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable, Coroutine, Hashable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from av import AudioFrame
from av.frame import Frame

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from calls import frames_of, local_server, publishing, summit_links, until

from parley.interpretation.mixer import FRAME, SAMPLE_RATE
from parley.media.sources import ToneAudioTrack, samples_of
from parley.protocol.server_ops import BoothsOp, ParleyServerOp
from parley.sdk.audio import PacedAudioTrack, mono_frame
from parley.sdk.client import ParleyClient, RemoteFeed
from parley.server.runtime import ParleyServer
from parley.summit.model import Role

Signal = npt.NDArray[np.float64]

FLOOR_HZ, BOT_HZ = 880.0, 1200.0
LEVEL = 0.4  # each burst's amplitude: at the bot's mouth the floor's repeat and its own sum to < 0.8
PERIOD_FRAMES, BURST_FRAMES = 25, 5  # 100 ms of tone every 500 ms
PERIOD = PERIOD_FRAMES * FRAME / SAMPLE_RATE
WINDOW = SAMPLE_RATE // 100  # 10 ms: 880 and 1200 Hz apart by 3.2 cycles, each blind to the other
TURN_HZ = ((1000.0, 1250.0), (1500.0, 1750.0))  # each handover interpreter's pitches, by turns
HANDOVER_LEVEL = 0.5  # ToneAudioTrack's
# Each send leg costs a mono source 3 dB: aiortc's Opus encoder upmixes it to stereo at 1/sqrt(2),
# and the SDK averages the two channels it decodes. Heard at half the level that arrives.
HOP = 0.5**0.5
_TIME_BASE = fractions.Fraction(1, SAMPLE_RATE)


class Bursts:
    """Tone bursts 20 ms at a time: silence until armed, then BURST_FRAMES of `frequency` every
    PERIOD_FRAMES (after `offset` frames). `sent`: when each burst's first frame was handed out."""

    def __init__(self, frequency: float, offset: int = 0) -> None:
        self.frequency = frequency
        self.offset = offset
        self.armed = False
        self.sent: list[float] = []
        self._frames = 0

    def next_frame(self, size: int = FRAME) -> Signal:
        """The next 20 ms (`size` is FRAME); call it as the frame leaves (a burst's start is
        noted now)."""
        if not self.armed:
            return np.zeros(size)
        step = (self._frames - self.offset) % PERIOD_FRAMES
        self._frames += 1
        if self._frames <= self.offset or step >= BURST_FRAMES:
            return np.zeros(size)
        if step == 0:
            self.sent.append(time.monotonic())
        n = np.arange(step * size, (step + 1) * size)
        return LEVEL * np.sin(2 * np.pi * self.frequency * n / SAMPLE_RATE)


@dataclass
class Recording:
    """What an ear played: each 20 ms frame with the time its `recv()` handed it out."""

    times: list[float] = field(default_factory=list)
    chunks: list[Signal] = field(default_factory=list)
    depth: Callable[[], float] | None = None  # what the ear's queue of interest holds, in seconds
    held: list[float] = field(default_factory=list)  # that, after each frame the ear played

    def add(self, frame: object) -> None:
        assert isinstance(frame, AudioFrame)
        self.times.append(time.monotonic())
        self.chunks.append(samples_of([frame]))
        if self.depth is not None:
            self.held.append(self.depth())

    def between(self, start: float, end: float) -> tuple[list[float], list[float]]:
        """Over [start, end]: what the queue held after each frame; how late each frame came beyond
        its 20 ms step (the event loop stalled) where more than 10 ms."""
        held = dict(zip(reversed(self.times), reversed(self.held), strict=False))
        times = [t for t in self.times if start <= t <= end]
        steps = [later - earlier - FRAME / SAMPLE_RATE for earlier, later in itertools.pairwise(times)]
        return [held[t] for t in times if t in held], [late for late in steps if late > 0.010]

    def level(self, frequency: float) -> tuple[Signal, Signal]:
        """Per sample played: when, and the amplitude of `frequency` over a centred 10 ms window."""
        if not self.chunks:
            return np.zeros(0), np.zeros(0)
        signal = np.concatenate(self.chunks)
        lengths = [len(c) for c in self.chunks]
        firsts = np.repeat(np.cumsum([0, *lengths[:-1]]), lengths)
        n = np.arange(len(signal))
        when = np.repeat(np.asarray(self.times), lengths) + (n - firsts) / SAMPLE_RATE
        turned = signal * np.exp(-2j * np.pi * frequency * n / SAMPLE_RATE)
        sums = np.concatenate([[0], np.cumsum(turned)])
        low = np.clip(n - WINDOW // 2, 0, len(signal))
        high = np.clip(n + WINDOW // 2, 0, len(signal))
        amplitude: Signal = 2 * np.abs(sums[high] - sums[low]) / WINDOW
        return when, amplitude


class Repeater(MediaStreamTrack):
    """The interpreter bot's microphone: what its ear plays, each frame handed on the moment the ear
    plays it, with bursts of its own added. `hear` plays the ear from before the bot joins, as a
    person hears from the start; like a live microphone this keeps no backlog for a late reader."""

    kind = "audio"

    def __init__(self) -> None:
        super().__init__()
        self.bursts = Bursts(BOT_HZ, offset=PERIOD_FRAMES // 2)
        self.heard = Recording()
        self._played: asyncio.Queue[tuple[int, Signal]] = asyncio.Queue(maxsize=2)

    async def hear(self, ear: MediaStreamTrack) -> None:
        with contextlib.suppress(MediaStreamError):
            while True:
                frame = await ear.recv()
                self.heard.add(frame)
                if self._played.full():
                    self._played.get_nowait()
                self._played.put_nowait((frame.pts or 0, self.heard.chunks[-1]))

    async def recv(self) -> Frame:
        if self.readyState != "live":
            raise MediaStreamError
        pts, samples = await self._played.get()
        return mono_frame(samples + self.bursts.next_frame(), pts)


def onsets(recording: Recording, frequency: float, threshold: float) -> Signal:
    """When the tone rose through `threshold` in what was played."""
    when, amplitude = recording.level(frequency)
    above = amplitude >= threshold
    rising = np.flatnonzero(above[1:] & ~above[:-1]) + 1
    found: Signal = when[rising]
    return found


def latencies(sent: list[float], heard: Signal) -> list[float]:
    """Each burst's delay: the first onset in a window around where it should land. The window is
    anchored on the earliest of the first bursts (no onset precedes them), so a delay longer than
    the burst period is still matched to its own burst."""
    if not sent or not len(heard):
        return []

    def first_after(moment: float) -> float | None:
        i = int(np.searchsorted(heard, moment))
        return float(heard[i]) if i < len(heard) else None

    firsts = [(f - s) for s in sent[:3] if (f := first_after(s)) is not None]
    if not firsts:
        return []
    expected = min(firsts)
    found = []
    for s in sent:
        onset = first_after(s + max(0.0, expected - PERIOD / 2))
        if onset is not None and onset < s + expected + PERIOD / 2:
            found.append(onset - s)
    return found


Hearing = Callable[[MediaStreamTrack], Coroutine[Any, Any, None]]


async def record(track: MediaStreamTrack, into: Recording) -> None:
    with contextlib.suppress(MediaStreamError):
        while True:
            into.add(await track.recv())


@contextlib.asynccontextmanager
async def device(
    link: str, name: str, hear: Hearing | None = None, **options: Any
) -> AsyncIterator[ParleyClient]:
    """A client in the summit; `hear` plays its ear from before it joins, as a device's speaker
    would (an ear read late starts with a backlog its queue keeps)."""
    client = ParleyClient(link, [name], **options)
    playing = asyncio.create_task(hear(client.ear)) if hear else None
    await client.join()
    try:
        yield client
    finally:
        if playing:
            playing.cancel()
        await client.close()


def held(client: ParleyClient, source: Hashable) -> float:
    queue = client.mixer.queues.get(source)
    return len(queue) / SAMPLE_RATE if queue is not None else 0.0


def hearing(pairs: list[tuple[ParleyClient, ParleyClient]], frames: int) -> bool:
    return all(frames_of(listener, speaker.user_id) > frames for listener, speaker in pairs)


def live_in(client: ParleyClient, language: str, who: ParleyClient) -> bool:
    booth = client.booths.get(language)
    return booth is not None and booth.live == who.user_id


def offered(client: ParleyClient, language: str) -> bool:
    booth = client.booths.get(language)
    return booth is not None and booth.handing_over


@dataclass
class Paths:
    floor: list[float]
    to_interpreter: list[float]
    from_interpreter: list[float]
    whole: list[float]
    bursts: int
    bot_bursts: int
    # What each ear's queue held after each frame it played, over the measurement.
    held_floor: list[float]
    held_bot: list[float]
    held_channel: list[float]
    stalls: list[float]  # how late the floor listener's ear frames came, where more than 10 ms


async def paths(server: ParleyServer, seconds: float) -> Paths:
    speaker_link, bot_link, channel_link, floor_link = summit_links(
        server,
        [
            ("Delegation A", Role.PRINCIPAL),
            ("Delegation B", Role.INTERPRETER, "ru"),
            ("Delegation B", Role.DELEGATE),
            ("Delegation A", Role.DELEGATE),
        ],
    )
    floor_bursts = Bursts(FLOOR_HZ)
    mouth = Repeater()
    floor_ear, channel_ear = Recording(), Recording()
    async with (
        device(speaker_link, "Speaker", audio=PacedAudioTrack(floor_bursts.next_frame)) as speaker,
        device(bot_link, "Interpreter bot", mouth.hear, audio=mouth) as bot,
        device(channel_link, "Listener ru", partial(record, into=channel_ear)) as channel,
        device(floor_link, "Listener floor", partial(record, into=floor_ear), listen=None) as floor,
    ):
        mouth.heard.depth = partial(held, bot, speaker.user_id)
        floor_ear.depth = partial(held, floor, speaker.user_id)
        channel_ear.depth = partial(held, channel, "ru")
        await until(partial(publishing, channel, speaker, bot), 30, "the speaker and interpreter to publish")
        await bot.take_over()
        await until(partial(live_in, channel, "ru", bot), 10, "the booth to show the interpreter live")
        pairs = [(channel, bot), (channel, speaker), (floor, speaker), (bot, speaker)]
        await until(partial(hearing, pairs, 50), 30, "every device to hear what it should")
        await asyncio.sleep(0.5)  # the ears' queues settle
        floor_bursts.armed = mouth.bursts.armed = True
        await asyncio.sleep(seconds)
        floor_bursts.armed = mouth.bursts.armed = False
        await asyncio.sleep(1.5)  # the last bursts arrive
        mouth.stop()
    # The channel listener hears the repeat two legs down, the floor under it at the ducking level
    # (0.2) one leg down: at half the repeat's level (0.1), the floor's copy (0.057) stays under.
    one_leg, two_legs = LEVEL * HOP / 2, LEVEL * HOP * HOP / 2
    sent, bot_sent = floor_bursts.sent, mouth.bursts.sent
    span = (sent[0], sent[-1] + 1.0) if sent else (0.0, 0.0)
    held_floor, stalls = floor_ear.between(*span)
    return Paths(
        floor=latencies(sent, onsets(floor_ear, FLOOR_HZ, one_leg)),
        to_interpreter=latencies(sent, onsets(mouth.heard, FLOOR_HZ, one_leg)),
        from_interpreter=latencies(bot_sent, onsets(channel_ear, BOT_HZ, one_leg)),
        whole=latencies(sent, onsets(channel_ear, FLOOR_HZ, two_legs)),
        bursts=len(sent),
        bot_bursts=len(bot_sent),
        held_floor=held_floor,
        held_bot=mouth.heard.between(*span)[0],
        held_channel=channel_ear.between(*span)[0],
        stalls=stalls,
    )


@dataclass
class Handover:
    sent: float  # when take_over left the incoming interpreter
    tones: tuple[float, float, float]  # the outgoing voice's; the incoming one's previous turn's; its new
    feed_gap: float  # at the listener: the incoming feed's first fresh frame minus the outgoing's last
    stale: int  # frames of the incoming voice's previous turn its feed delivered before the fresh ones
    to_booths: float  # take_over sent to the booths op showing the incoming voice live, at the listener
    to_voice: float  # take_over sent to the incoming voice's first fresh frame at the listener
    ear_gap: float | None = None  # the listener's ear: outgoing tone's last sample to the new tone's first
    ear_stale: float = 0.0  # how long the incoming voice's previous tone sounded in between


@dataclass
class Voice:
    """An interpreter of the handover booth: a steady tone, a new pitch for each turn."""

    client: ParleyClient
    track: ToneAudioTrack
    pitches: tuple[float, float]

    def new_turn(self) -> float:
        """Change pitch (while muted at Janus, so nobody hears it yet); the previous pitch."""
        previous = self.track.frequency_hz
        self.track.frequency_hz = self.pitches[1] if previous == self.pitches[0] else self.pitches[0]
        return previous


def fresh_start(feed: RemoteFeed, sent: float) -> tuple[float, int] | None:
    """When the first frame the feed's sender sent after `sent` reached the listener, and how many
    stale frames came first: frames whose RTP time runs straight on from the feed's previous turn."""
    frames = list(zip(feed.audio, feed.audio_times, strict=True))
    before = [frame.pts for frame, t in frames if t <= sent]
    last = before[-1] if before else None
    stale = 0
    for frame, t in frames:
        if t <= sent:
            continue
        if last is not None and frame.pts is not None and 0 < frame.pts - last <= 2 * FRAME:
            stale, last = stale + 1, frame.pts
            continue
        return t, stale
    return None


def heard_handover(levels: dict[float, tuple[Signal, Signal]], handover: Handover) -> None:
    """Where the ear's sound passes from the outgoing tone to the incoming voice's new one, and how
    long the incoming voice's previous tone (its stale frames) sounded in between."""
    outgoing, previous, new = handover.tones
    when = levels[new][0]
    threshold = HANDOVER_LEVEL * HOP / 2
    near = (when > handover.sent - 1.0) & (when < handover.sent + 2.0)
    arrived = np.flatnonzero(near & (when > handover.sent) & (levels[new][1] >= threshold))
    if not arrived.size:
        return
    first_new = when[arrived[0]]
    left = np.flatnonzero(near & (when < first_new) & (levels[outgoing][1] >= threshold))
    if not left.size:
        return
    last_out = when[left[-1]]
    between = (when > last_out) & (when < first_new) & (levels[previous][1] >= threshold)
    handover.ear_gap = float(first_new - last_out)
    handover.ear_stale = float(np.count_nonzero(between) / SAMPLE_RATE)


async def handovers(server: ParleyServer, count: int) -> list[Handover]:
    first_link, second_link, listener_link = summit_links(
        server,
        [
            ("Delegation B", Role.INTERPRETER, "ru"),
            ("Delegation B", Role.INTERPRETER, "ru"),
            ("Delegation B", Role.DELEGATE),
        ],
    )
    shown: list[tuple[float, int | None]] = []  # when a booths op reached the listener, who it showed live

    def note(op: ParleyServerOp) -> None:
        if isinstance(op, BoothsOp):
            live = next((b.live for b in op.d.booths if b.language == "ru"), None)
            shown.append((time.monotonic(), live))

    ear = Recording()
    results: list[Handover] = []
    tracks = [ToneAudioTrack(pitches[0]) for pitches in TURN_HZ]
    async with (
        device(first_link, "First", audio=tracks[0]) as one,
        device(second_link, "Second", audio=tracks[1]) as two,
        device(listener_link, "Listener", partial(record, into=ear), listen="ru", on_event=note) as listener,
    ):
        await until(partial(publishing, listener, one, two), 30, "both interpreters to publish")
        await one.take_over()
        await until(partial(hearing, [(listener, one)], 50), 20, "the first voice to reach the listener")
        live, idle = Voice(one, tracks[0], TURN_HZ[0]), Voice(two, tracks[1], TURN_HZ[1])
        for _ in range(count):
            await live.client.hand_over()
            await until(partial(offered, idle.client, "ru"), 10, "the booth to show the offer")
            previous = idle.new_turn()
            await asyncio.sleep(0.3)
            before = frames_of(listener, idle.client.user_id)
            sent = time.monotonic()
            await idle.client.take_over()
            await until(partial(live_in, listener, "ru", idle.client), 10, "the listener to see the handover")
            await until(partial(hearing, [(listener, idle.client)], before + 40), 10, "the incoming voice")
            start = fresh_start(listener.feeds[idle.client.user_id], sent)
            assert start is not None, "no fresh frame of the incoming voice"
            first_fresh, stale = start
            last_out = max(listener.feeds[live.client.user_id].audio_times)
            booths = min(t for t, who in shown if t > sent and who == idle.client.user_id)
            tones = (live.track.frequency_hz, previous, idle.track.frequency_hz)
            gap, to_booths, to_voice = first_fresh - last_out, booths - sent, first_fresh - sent
            results.append(Handover(sent, tones, gap, stale, to_booths, to_voice))
            live, idle = idle, live
        await asyncio.sleep(0.3)
    levels = {hz: ear.level(hz) for pitches in TURN_HZ for hz in pitches}
    for result in results:
        heard_handover(levels, result)
    return results


def ms(values: list[float]) -> str:
    if not values:
        return "no samples"
    p90 = sorted(values)[int(len(values) * 0.9)]
    return f"{statistics.median(values) * 1000:.1f} ms (p90 {p90 * 1000:.1f})"


def median_ms(values: list[float]) -> str:
    return f"{statistics.median(values) * 1000:.1f} ms" if values else "no samples"


def each_ms(values: list[float | None]) -> str:
    return ", ".join("-" if v is None else f"{v * 1000:.0f}" for v in values)


def summarise(found: Paths, taken: list[Handover]) -> None:
    def line(what: str, values: list[float], of: int) -> None:
        print(f"{what}: {ms(values)}, {len(values)} of {of} bursts")

    line("floor path, speaker's mouth to a floor listener's ear", found.floor, found.bursts)
    line("speaker's mouth to the interpreter's ear", found.to_interpreter, found.bursts)
    line("interpreter's mouth to the channel listener's ear", found.from_interpreter, found.bot_bursts)
    line("interpretation path, speaker's mouth to the channel listener's ear", found.whole, found.bursts)
    if found.floor and found.whole and found.to_interpreter and found.from_interpreter:
        floor, whole = statistics.median(found.floor), statistics.median(found.whole)
        legs = statistics.median(found.to_interpreter) + statistics.median(found.from_interpreter)
        print(f"the two legs' medians summed: {legs * 1000:.1f} ms")
        print(
            f"interpretation adds {(whole - floor) * 1000:.1f} ms over the floor path "
            f"(ratio {whole / floor:.2f})"
        )
    print(
        "what the ear's queue held after each 20 ms it played (median): the floor listener's "
        f"{median_ms(found.held_floor)}, the interpreter's {median_ms(found.held_bot)}, "
        f"the channel listener's {median_ms(found.held_channel)}"
    )
    longest = f", the longest {max(found.stalls) * 1000:.0f} ms" if found.stalls else ""
    print(f"event loop stalls over 10 ms during the measurement: {len(found.stalls)}{longest}")
    if found.floor and found.whole and found.held_floor and found.held_bot and found.held_channel:
        floor = statistics.median(found.floor) - statistics.median(found.held_floor)
        backlog = statistics.median(found.held_bot) + statistics.median(found.held_channel)
        whole = statistics.median(found.whole) - backlog
        print(
            f"less what the ears' queues held: floor path {floor * 1000:.1f} ms, interpretation path "
            f"{whole * 1000:.1f} ms; interpretation adds {(whole - floor) * 1000:.1f} ms "
            f"(ratio {whole / floor:.2f})"
        )
    print(
        "handover gap at the listener, the outgoing feed's last frame to the incoming feed's first "
        f"fresh one: {median_ms([h.feed_gap for h in taken])} "
        f"(median of {len(taken)}; each, ms: {each_ms([h.feed_gap for h in taken])})"
    )
    stale = ", ".join(str(h.stale) for h in taken)
    print(f"handover, stale frames (the end of its previous turn) the incoming feed delivered first: {stale}")
    heard = [h.ear_gap for h in taken if h.ear_gap is not None]
    print(
        "handover, the listener's ear from the outgoing voice to the incoming one's fresh audio: "
        f"{median_ms(heard)} (each, ms: {each_ms([h.ear_gap for h in taken])}), of which the incoming "
        f"voice's previous turn played, ms: {each_ms([h.ear_stale for h in taken])}"
    )
    booths = median_ms([h.to_booths for h in taken])
    print(f"handover, take_over sent to the booths op at the listener: {booths}")
    to_voice = median_ms([h.to_voice for h in taken])
    print(f"handover, take_over sent to the incoming voice's first fresh frame at the listener: {to_voice}")


async def main(seconds: float, count: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        async with local_server(Path(tmp) / "parley", test_hooks=False) as server:
            found = await paths(server, seconds)
            taken = await handovers(server, count)
    summarise(found, taken)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--seconds", type=float, default=20.0, help="how long the floor speaker sends bursts")
    parser.add_argument("--handovers", type=int, default=6, help="handovers to time (median)")
    args = parser.parse_args()
    asyncio.run(main(args.seconds, args.handovers))
