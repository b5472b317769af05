"""Per-address rate limits for the signalling WebSocket: token buckets, sans-IO.

One link must not let one machine open hundreds of devices, nor try tokens as fast as it can. So
each client address has two buckets (`SignalingLimits`): one pays for every WebSocket opened, one
for every `identify`. A bucket holds up to `burst` tokens and refills at `per_minute`; an empty
bucket refuses, and says how long until the next token. A delegation behind one NAT shares an
address, so the defaults let a room's worth of devices join at once.

Nothing here does I/O or reads a clock: `now` (seconds, monotonic) is passed in, so tests step
time. The table of addresses is bounded: beyond `max_addresses` the least recently seen address
is forgotten (it starts again with a full bucket). IPv6 addresses count by their /64, the block
one subscriber usually holds.
"""

from __future__ import annotations

import ipaddress
from collections import OrderedDict, deque
from dataclasses import dataclass, field

MAX_ADDRESSES = 10_000


@dataclass(frozen=True)
class Rate:
    """At most `burst` at once, then `per_minute` on average."""

    burst: int
    per_minute: float

    def __post_init__(self) -> None:
        if self.burst < 1 or self.per_minute <= 0:
            raise ValueError("a rate allows at least 1 at once and more than 0 a minute")


@dataclass(frozen=True)
class Bucket:
    tokens: float
    at: float  # when `tokens` was counted

    @classmethod
    def full(cls, rate: Rate, now: float) -> Bucket:
        return cls(float(rate.burst), now)

    def take(self, rate: Rate, now: float) -> tuple[Bucket, float]:
        """The bucket after one more request, and 0.0 if it is allowed, else the seconds until
        one would be (the bucket then stays as it was, refilled to `now`)."""
        refill = max(0.0, now - self.at) * rate.per_minute / 60
        tokens = min(float(rate.burst), self.tokens + refill)
        if tokens >= 1:
            return Bucket(tokens - 1, now), 0.0
        return Bucket(tokens, now), (1 - tokens) * 60 / rate.per_minute


@dataclass
class PerDevice:
    """At most `limit` of one kind of op per device in any `window` seconds (a sliding window, `now`
    monotonic): for the ops a room relays to every member, so that one device cannot fill everyone's
    outbox (a device that falls that far behind is dropped). `forget` a device when it leaves."""

    limit: int
    window: float
    _recent: dict[int, deque[float]] = field(default_factory=dict)

    def take(self, user_id: int, now: float) -> bool:
        """Count one more for this device, if it is within the limit; False (nothing counted) if not."""
        recent = self._recent.setdefault(user_id, deque())
        while recent and recent[0] <= now - self.window:
            recent.popleft()
        if len(recent) >= self.limit:
            return False
        recent.append(now)
        return True

    def forget(self, user_id: int) -> None:
        self._recent.pop(user_id, None)


def address_key(host: str) -> str:
    """What one client is counted as: its IPv4 address, or its IPv6 /64; anything else as given."""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)


class AddressLimiter:
    """One token bucket per client address, for one kind of request."""

    def __init__(self, rate: Rate, max_addresses: int = MAX_ADDRESSES) -> None:
        self.rate = rate
        self.max_addresses = max_addresses
        self._buckets: OrderedDict[str, Bucket] = OrderedDict()

    def take(self, host: str, now: float) -> float:
        """0.0 if a request from `host` is allowed now, else the seconds until one would be."""
        key = address_key(host)
        bucket = self._buckets.pop(key, None) or Bucket.full(self.rate, now)
        self._buckets[key], wait = bucket.take(self.rate, now)  # now the most recently seen
        if len(self._buckets) > self.max_addresses:
            self._buckets.popitem(last=False)
        return wait

    def __len__(self) -> int:
        return len(self._buckets)


@dataclass(frozen=True)
class RateLimited:
    """A refusal: which limit, and when to try again."""

    what: str
    retry_after: float

    @property
    def message(self) -> str:
        return f"too many {self.what} from this address: try again in {max(1, round(self.retry_after))} s"


class SignalingLimits:
    """The signalling WebSocket's two limits, per client address."""

    def __init__(self, connections: Rate, identifies: Rate, max_addresses: int = MAX_ADDRESSES) -> None:
        self._connections = AddressLimiter(connections, max_addresses)
        self._identifies = AddressLimiter(identifies, max_addresses)

    def connect(self, host: str, now: float) -> RateLimited | None:
        wait = self._connections.take(host, now)
        return RateLimited("connections", wait) if wait else None

    def identify(self, host: str, now: float) -> RateLimited | None:
        wait = self._identifies.take(host, now)
        return RateLimited("identifies", wait) if wait else None
