"""What a long-distance link does to packets, per direction, and the named profiles tests apply.

A profile holds two `Path`s: `up` (a delegation's devices towards the server) and `down` (back). Each
path's figures are one-way: a profile's round trip is `up.delay + down.delay`, and its loss applies
to each direction separately, as it does on a real route.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass

from parley.media.recovery import GAP_PATIENCE


@dataclass(frozen=True)
class Burst:
    """Gilbert-Elliott loss: a good state that loses nothing and a bad state that loses every packet.

    `enter` is the chance per packet of going from good to bad, `leave` from bad to good: bursts are
    `1 / leave` packets long on average, and the long-run share of packets lost is
    `enter / (enter + leave)`.
    """

    enter: float
    leave: float

    @classmethod
    def of(cls, loss: float, mean_length: float) -> Burst:
        """The chain that loses `loss` of all packets in bursts of `mean_length` packets on average."""
        if not 0 < loss < 1 or mean_length < 1:
            raise ValueError("burst loss needs 0 < loss < 1 and a mean burst of at least one packet")
        leave = 1 / mean_length
        return cls(enter=loss * leave / (1 - loss), leave=leave)

    @property
    def loss(self) -> float:
        return self.enter / (self.enter + self.leave)


@dataclass(frozen=True)
class Path:
    """One direction of a link: delay and jitter in seconds, loss as a share of packets.

    `jitter` spreads each packet's delay uniformly over `delay ± jitter`; packets still leave in the
    order they came (a real route's jitter is queueing, which does not reorder a flow). `loss` drops
    packets independently; `burst` drops them in runs. `rate` caps the bandwidth in bits per second.
    """

    delay: float = 0.0
    jitter: float = 0.0
    loss: float = 0.0
    burst: Burst | None = None
    rate: int | None = None

    def __post_init__(self) -> None:
        if self.delay < 0 or not 0 <= self.jitter <= self.delay:
            raise ValueError("a path needs delay >= 0 and 0 <= jitter <= delay")
        if not 0 <= self.loss < 1:
            raise ValueError("a path's random loss is a share of packets: 0 <= loss < 1")
        if self.rate is not None and self.rate < 8_000:
            raise ValueError("a path's rate cap is in bits per second, at least 8000")


@dataclass(frozen=True)
class Profile:
    """A named link between a delegation's devices and the server: `up` towards it, `down` back."""

    name: str
    up: Path
    down: Path

    @property
    def rtt(self) -> float:
        return self.up.delay + self.down.delay

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> Profile:
        raw = json.loads(text)
        return cls(raw["name"], _path(raw["up"]), _path(raw["down"]))


def _path(raw: dict[str, object]) -> Path:
    burst = raw.pop("burst")
    return Path(**raw, burst=Burst(**burst) if isinstance(burst, dict) else None)  # type: ignore[arg-type]


def symmetric(name: str, path: Path) -> Profile:
    return Profile(name, path, path)


PROFILES = {
    profile.name: profile
    for profile in (
        # Two capitals 9,000 km apart: 35 ± 5 ms each way (70 ms round trip, ±10 ms), 1% loss each way.
        symmetric("transcontinental", Path(delay=0.035, jitter=0.005, loss=0.01)),
        # Hotel Wi-Fi: 75 ± 5 ms each way, 3% lost in bursts of 3 packets on average, 1 Mbit/s.
        symmetric("bad-hotel", Path(delay=0.075, jitter=0.005, burst=Burst.of(0.03, 3), rate=1_000_000)),
        # A geostationary hop: 300 ms each way, 1% loss each way.
        symmetric("satellite", Path(delay=0.3, loss=0.01)),
    )
}


# s: Janus 1.1's videoroom sends a publisher at most one keyframe request (PLI) a second; a request
# within the second waits for it to pass (docs/testing-wan.md, Recovery).
JANUS_PLI_PACING = 1.0


def longest_freeze(profile: Profile | None, loopback: float) -> float:
    """The longest freeze of an SDK device's picture a test may accept: `loopback` on the loopback,
    else what one packet lost for good costs on this profile, plus `loopback` for the frame rate and
    a loaded machine. Loss alone costs that: the receiver gives the hole up after 2.5 round trips
    (`parley.media.recovery`, at least `GAP_PATIENCE`), asks for a keyframe, which Janus may hold back
    for up to `JANUS_PLI_PACING`, and the keyframe takes one more round trip to come."""
    if profile is None:
        return loopback
    return max(GAP_PATIENCE, 2.5 * profile.rtt) + JANUS_PLI_PACING + profile.rtt + loopback


# How many round trips a device takes to join and get a subscription's picture flowing: signalling,
# its publisher's ICE and DTLS, the roster reaching the others, their subscriptions' ICE and DTLS.
# Under `satellite` a rejoin was back in the call after about 16.
JOIN_ROUND_TRIPS = 20


def join_allowance(profile: Profile | None) -> float:
    """How much longer than on the loopback (s) a device's join takes, up to its picture reaching the
    others: what a test that times media against a join adds."""
    return 0.0 if profile is None else JOIN_ROUND_TRIPS * profile.rtt


def named(name: str) -> Profile:
    try:
        return PROFILES[name]
    except KeyError:
        raise ValueError(f"no WAN profile {name!r}; the profiles are {', '.join(PROFILES)}") from None
