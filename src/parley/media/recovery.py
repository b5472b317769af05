"""How a video receiver gets its picture back after loss: when to give up on a packet, when to ask for a
keyframe, and which frames not to decode. Sans-IO, the clock passed in.

A lost RTP packet is asked for again (NACK; Janus keeps what it sent for a second and resends it).
aiortc NACKs a hole once, when it appears; when that NACK or its resend is lost too, its jitter buffer
waits for the packet for ever: it hands out no frame until 512 more packets have arrived (tens of seconds
of low-rate video), then hands out frames assembled across the hole, which fail to decrypt. `Resends`
asks again while a resend can still come, learning from the resends that do arrive how long one takes;
`GapPatience` then stops waiting: the receiver drops the frame with the hole and goes on from the next
frame that starts.

A VP8 delta frame only means something on top of every frame before it, back to the last keyframe. Once
one frame is missing (it did not decrypt: loss inside it, a key this device does not hold yet; or the
decoder rejected it), every delta frame after it paints on a broken picture, or fails to decode, until the
next keyframe. aiortc's encoder makes a keyframe only when asked (its keyframe interval is 3000 frames),
so a receiver that does not ask stays frozen. `KeyframeRequests` holds that policy;
`parley.media.frame_transform` drives `Resends` and `GapPatience` from the receiver's RTP handler
and `KeyframeRequests` from its decoder thread, where it turns a request into an RTCP picture loss
indication (PLI), which Janus forwards to the publisher (whose aiortc sender answers a PLI or FIR with
a keyframe).

The rules:
- Until a keyframe has decoded, the receiver is *waiting*: it decodes no delta frame (the picture stays as
  it was rather than breaking) and asks for a keyframe, at most once per `interval`.
- A frame that fails (to decrypt or to decode) makes it wait again, and asks (rate-limited).
- The first frame that decrypts after a run of failures asks at once, whatever the rate limit: requests
  made while the key was missing bring keyframes this device could not read either; now it can.
- A keyframe that decodes ends the waiting.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass, field

__all__ = [
    "AIORTC_REPORT_INTERVAL",
    "GAP_PATIENCE",
    "JANUS_REPORT_INTERVAL",
    "OVERDUE",
    "REQUEST_INTERVAL",
    "RETRY_AFTER",
    "Action",
    "GapPatience",
    "KeyframeRequests",
    "Resends",
    "is_vp8_keyframe",
    "starts_vp8_frame",
]

# s: how long a hole in the packets may hold frames back at least; longer on a path whose resends take
# longer (`Resends.patience`). Room for one more NACK (`RETRY_AFTER`) and its answer: Parley's Janus keeps
# what it sent for a second (`media.min_nack_queue`), so that NACK still finds the packet. A hole that
# outlives it is most likely one Janus never received: Janus NACKs a publisher once per lost packet, and
# after that only a keyframe helps, so waiting longer would only lengthen the freeze.
GAP_PATIENCE = 0.45
# s: how long after a NACK a packet still missing is asked for again, whatever the path's round trip.
# Janus 1.1 ignores a NACK for a packet it resent very recently (up to 200 ms before, depending on the
# version), and keeps what it sent for a second: on a 600 ms path, a NACK sent again only once the first
# resend was overdue would reach Janus after the packet is gone, so one lost NACK or resend would lose
# the packet for good. Asking again before the first answer could come costs at most a duplicate resend.
RETRY_AFTER = 0.25
# s: how long after a subscription's first packet Janus may still have nothing to resend. Janus keeps
# what it sends a subscriber only once a receiver report has given it the round trip: its first sender
# report goes out within a second (`JANUS_REPORT_INTERVAL`), aiortc's report answering it within 1.5 s
# more, and the report still has to cross the path. A packet lost before then is lost for good: only a
# keyframe mends it, so a hole then asks for one after `GAP_PATIENCE` while it still waits for a resend.
JANUS_REPORT_INTERVAL = 1.0
AIORTC_REPORT_INTERVAL = 1.5
# Round trips after its first NACK: a resend that has not come by then is overdue (its NACK or the resend
# was lost); on a long path a hole then asks for a keyframe while still waiting (`Resends.hurry_after`).
OVERDUE = 1.25
# s: how long a NACK's time is kept to time the resend that answers it.
_SAMPLE_HORIZON = 3.0

REQUEST_INTERVAL = 0.4  # s: at most one request per feed this often (a keyframe takes an RTT and an encode)


class Action(enum.Enum):
    """What the decoder thread should do with the frame it holds."""

    DECODE = "decode"
    SKIP = "skip"  # a delta frame while waiting for a keyframe: it would paint on a broken picture


@dataclass
class KeyframeRequests:
    """One video receiver's keyframe state. Each call returns what to do; `take_request()` says whether to
    send a keyframe request now (the caller sends it, once)."""

    interval: float = REQUEST_INTERVAL
    waiting: bool = True  # no keyframe decoded since the start or since the last failure
    failing: bool = False  # the last frame did not decrypt
    requests: int = 0  # how many requests this core has asked for
    skipped: int = 0  # delta frames not decoded while waiting
    _last_request: float | None = None
    _pending: bool = False

    def frame_lost(self, now: float) -> None:
        """A frame never reached the decoder (the jitter buffer gave up on it)."""
        self._lose(now)

    def decrypt_failed(self, now: float) -> None:
        """A frame did not decrypt: it is lost to the decoder, so its successors are too."""
        self.failing = True
        self._lose(now)

    def decode_failed(self, now: float) -> None:
        """The decoder rejected a frame that decrypted: its picture is broken until a keyframe."""
        self._lose(now)

    def decrypted(self, now: float, *, keyframe: bool) -> Action:
        """A frame decrypted; decode it, or skip it while waiting for a keyframe."""
        recovering, self.failing = self.failing, False
        if keyframe or not self.waiting:
            return Action.DECODE
        self._request(now, force=recovering)
        self.skipped += 1
        return Action.SKIP

    def decoded(self, *, keyframe: bool) -> None:
        """The decoder took the frame; a keyframe makes the picture whole again."""
        if keyframe:
            self.waiting = False

    def take_request(self) -> bool:
        """Whether a keyframe request is due now; True at most once per request."""
        pending, self._pending = self._pending, False
        return pending

    def _lose(self, now: float) -> None:
        self.waiting = True
        self._request(now)

    def _request(self, now: float, *, force: bool = False) -> None:
        if not force and self._last_request is not None and now - self._last_request < self.interval:
            return
        self._last_request = now
        self._pending = True
        self.requests += 1


@dataclass
class Resends:
    """One receiver's missing packets: when each was last asked for, when to ask again, when to give up.

    The shell reports what it asks for (`asked`) and each packet that arrives (`arrived`); a packet that
    arrives after being asked for times a resend (from its first NACK: later ones go out before the answer
    to the first can come), and the smoothed `rtt` sets how long to wait at all. `rtt` may start as the
    path's round trip measured otherwise (the signalling connection's): the first hole of a 600 ms path
    would otherwise be given up before its resend could come."""

    rtt: float | None = None  # s, smoothed time from a packet's first NACK to its arrival
    _resending: bool = False  # a resend has come: the sender keeps what it sent
    _start: float | None = None  # when the first packet arrived
    _asked: dict[int, float] = field(default_factory=dict)  # sequence number -> last asked, still missing
    _first: dict[int, float] = field(default_factory=dict)  # sequence number -> first asked, still missing
    _timed: dict[int, float] = field(default_factory=dict)  # sequence number -> first asked, to time it

    @property
    def patience(self) -> float:
        """How long a hole is waited for at least."""
        return GAP_PATIENCE if self.rtt is None else max(GAP_PATIENCE, 2.5 * self.rtt)

    def unproven(self, now: float) -> bool:
        """No resend has come yet, and the sender may still keep nothing to resend (Janus, early in a
        subscription): a hole may well be lost for good."""
        reported = JANUS_REPORT_INTERVAL + AIORTC_REPORT_INTERVAL + (self.rtt or 0.0)
        return not self._resending and (self._start is None or now - self._start < reported)

    def hurry_after(self, now: float) -> float:
        """How long a hole may hold frames back before it also asks for a keyframe while it still waits:
        `GAP_PATIENCE` while it may well be lost for good (`unproven`); later, once its resend is
        overdue, if that comes before the give-up (`patience`). On a 600 ms path the keyframe then comes
        about when the give-up would only have asked for it: a freeze of some 1.4 s instead of 2.5 s.
        On a shorter path the give-up comes first (`GAP_PATIENCE`) and asks itself."""
        if self.unproven(now) or self.rtt is None:
            return GAP_PATIENCE
        return max(GAP_PATIENCE, OVERDUE * self.rtt)

    def asked(self, sequence_numbers: Iterable[int], now: float) -> None:
        """A NACK for these went out."""
        for seq in sequence_numbers:
            self._asked[seq] = now
            self._first.setdefault(seq, now)
            self._timed.setdefault(seq, now)

    def arrived(self, sequence_number: int, now: float) -> None:
        """A packet arrived; if it was asked for, it times a resend."""
        if self._start is None:
            self._start = now
        self._first.pop(sequence_number, None)
        self._asked.pop(sequence_number, None)
        asked = self._timed.pop(sequence_number, None)
        if asked is not None:
            sample = now - asked
            self._resending = True
            self.rtt = sample if self.rtt is None else 0.875 * self.rtt + 0.125 * sample

    def due(self, now: float) -> bool:
        """Some packet still worth asking for was last asked for `RETRY_AFTER` ago."""
        patience = self.patience
        return any(
            now - self._asked[seq] >= RETRY_AFTER and now - first < patience
            for seq, first in self._first.items()
        )

    def given_up(self, now: float) -> list[int]:
        """The packets asked for longer than `patience` ago: no longer worth asking for (forgotten here,
        except to time a resend that still comes)."""
        patience = self.patience
        gone = [seq for seq, first in self._first.items() if now - first >= patience]
        for seq in gone:
            del self._first[seq], self._asked[seq]
        for seq in [s for s, t in self._timed.items() if now - t >= _SAMPLE_HORIZON]:
            del self._timed[seq]
        return gone


@dataclass
class GapPatience:
    """How long one receiver's jitter buffer has been held up by a missing packet."""

    _since: float | None = None
    _hurried: bool = False

    def hurry(self, now: float, after: float = GAP_PATIENCE) -> bool:
        """Held up `after` already (`Resends.hurry_after` in the shell) by a hole that may be lost for
        good: True once per hole, to ask for a keyframe while still waiting for the resend."""
        if self._hurried or self._since is None or now - self._since < after:
            return False
        self._hurried = True
        return True

    def held(self, now: float, patience: float = GAP_PATIENCE) -> bool:
        """The buffer has packets after a hole and hands out no frame; True: stop waiting for the hole
        (after `patience`, `Resends.patience` in the shell)."""
        if self._since is None:
            self._since = now
        return now - self._since >= patience

    def flowing(self) -> None:
        """No hole holds frames back (any more)."""
        self._since = None
        self._hurried = False


def starts_vp8_frame(payload: bytes) -> bool:
    """RFC 7741 4.2: an RTP payload whose descriptor has S set and partition index 0 starts a VP8 frame."""
    return bool(payload) and payload[0] & 0x10 != 0 and payload[0] & 0x07 == 0


def is_vp8_keyframe(frame: bytes) -> bool:
    """RFC 6386 9.1: the first bit of a VP8 frame's tag is 0 for a keyframe (the inverse key frame flag)."""
    return bool(frame) and frame[0] & 0x01 == 0
