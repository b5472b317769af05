"""Audio that keeps playing through loss: an Opus decoder for aiortc receivers that fills each missing
packet, from the in-band FEC of the packet after it or by libopus's loss concealment.

aiortc's Opus decoder decodes what arrives and nothing else: a lost packet is 20 ms missing from the
output, heard as a click (or, measured over a tone, a smear). Browsers conceal; an SDK device should as
well. The RTP timestamps say what is missing: Opus's clock is 48 kHz whatever the sampling, and each
packet's table of contents says how long it is, so a packet that starts later than the one before
ended leaves a gap of known length. `Timeline` (sans-IO) tracks that; `ConcealingOpusDecoder` (aiortc's
decoder interface, in the receiver's decoder thread) plays the gap before the packet that revealed it:
libopus rebuilds the last 20 ms from that packet's FEC (Parley's senders and browsers send FEC) and
conceals anything before, then decodes the packet itself. A gap longer than `MAX_CONCEALED` is a pause,
not a loss (a sender that stopped, a stream that restarted, discontinuous transmission): nothing is
invented for it.

Frames that fail to decrypt never reach the decoder (`parley.media.frame_transform`), so they are filled
like lost ones; a packet libopus rejects is counted and filled the same way by the next one.
"""

from __future__ import annotations

import fractions
import logging
from typing import Protocol

from aiortc.codecs.base import Decoder
from aiortc.jitterbuffer import JitterFrame
from av import AudioFrame
from av.frame import Frame

from parley.media.libopus import MAX_FRAME_SAMPLES, SAMPLE_RATE, OpusError, PacketDecoder, packet_samples

__all__ = ["MAX_CONCEALED", "ConcealingOpusDecoder", "ConcealmentCounters", "Timeline"]

logger = logging.getLogger(__name__)

# Samples per channel: the longest gap filled. 120 ms is six 20 ms packets, a burst of loss; it is also
# the most libopus fills in one call. Beyond it the sender has most likely paused.
MAX_CONCEALED = MAX_FRAME_SAMPLES
_GRANULE = SAMPLE_RATE * 25 // 10_000  # 2.5 ms: libopus fills whole multiples of it
_TIMESTAMPS = 1 << 32  # RTP timestamps wrap
_TIME_BASE = fractions.Fraction(1, SAMPLE_RATE)
_CHANNELS = 2  # as aiortc decodes: stereo


class Timeline:
    """Where each decoded packet falls: how many samples went missing before it. Sans-IO."""

    def __init__(self) -> None:
        self._next: int | None = None  # the RTP timestamp the next packet should start at

    def missing_before(self, timestamp: int) -> int:
        """Samples per channel to fill before a packet at `timestamp`: 0 for the first packet, one on
        time, one from before (reordered, a restarted stream) or after a pause longer than
        `MAX_CONCEALED`."""
        if self._next is None:
            return 0
        gap = (timestamp - self._next) % _TIMESTAMPS
        if gap > MAX_CONCEALED:
            return 0
        return gap - gap % _GRANULE

    def played(self, timestamp: int, samples: int) -> None:
        """A packet at `timestamp` holding `samples` per channel was decoded."""
        self._next = (timestamp + samples) % _TIMESTAMPS


class ConcealmentCounters(Protocol):
    """Where the decoder counts what it did (`parley.media.frame_transform.FrameStats`)."""

    concealed: float  # s of audio filled in for packets that never came
    undecodable: int  # packets libopus rejected


class ConcealingOpusDecoder(Decoder):
    """Stands in for aiortc's `OpusDecoder` (the same frames: s16 stereo at 48 kHz, pts in RTP
    timestamp units) and fills gaps. Runs in one receiver's decoder thread."""

    def __init__(self, counters: ConcealmentCounters) -> None:
        self._opus = PacketDecoder(_CHANNELS)
        self._timeline = Timeline()
        self._counters = counters

    def decode(self, encoded_frame: JitterFrame) -> list[Frame]:
        packet, timestamp = encoded_frame.data, encoded_frame.timestamp
        missing = self._timeline.missing_before(timestamp)
        frames: list[Frame] = []
        try:
            samples = packet_samples(packet)
            if missing:
                frames.append(_frame(self._opus.recover(packet, missing), timestamp - missing))
                self._counters.concealed += missing / SAMPLE_RATE
                self._timeline.played(timestamp - missing, missing)
            frames.append(_frame(self._opus.decode(packet), timestamp))
        except OpusError as exc:
            # Left out of the timeline: the next packet fills this one's time too.
            self._counters.undecodable += 1
            logger.debug("audio packet failed to decode (%s)", exc)
            return frames
        self._timeline.played(timestamp, samples)
        return frames


def _frame(pcm: bytes, pts: int) -> Frame:
    frame = AudioFrame(format="s16", layout="stereo", samples=len(pcm) // (2 * _CHANNELS))
    frame.planes[0].update(pcm)
    frame.pts = pts % _TIMESTAMPS
    frame.sample_rate = SAMPLE_RATE
    frame.time_base = _TIME_BASE
    return frame
