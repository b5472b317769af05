"""Per-address token buckets, stepped through time by the test (no clock is read)."""

from __future__ import annotations

import pytest

from parley.server.rate_limit import AddressLimiter, Bucket, PerDevice, Rate, SignalingLimits, address_key

FIVE_THEN_ONE_A_SECOND = Rate(burst=5, per_minute=60)


def test_a_burst_is_allowed_then_refused_with_the_wait_for_the_next_token() -> None:
    limiter = AddressLimiter(FIVE_THEN_ONE_A_SECOND)
    assert [limiter.take("198.51.100.7", 100.0) for _ in range(5)] == [0.0] * 5
    assert limiter.take("198.51.100.7", 100.0) == pytest.approx(1.0)
    assert limiter.take("198.51.100.7", 100.25) == pytest.approx(0.75)


def test_the_bucket_refills_at_its_rate_and_never_beyond_its_burst() -> None:
    limiter = AddressLimiter(FIVE_THEN_ONE_A_SECOND)
    for _ in range(5):
        limiter.take("198.51.100.7", 0.0)
    assert limiter.take("198.51.100.7", 2.0) == 0.0  # two tokens back after 2 s
    assert limiter.take("198.51.100.7", 2.0) == 0.0
    assert limiter.take("198.51.100.7", 2.0) > 0
    # An hour idle gives back the burst, not 3600 tokens.
    assert [limiter.take("198.51.100.7", 3600.0) for _ in range(6)].count(0.0) == 5


def test_a_refused_request_costs_nothing() -> None:
    bucket = Bucket.full(Rate(1, 60), 0.0)
    bucket, wait = bucket.take(Rate(1, 60), 0.0)
    assert wait == 0.0
    for at in (0.1, 0.2, 0.3):  # hammering does not push the next token further away
        bucket, wait = bucket.take(Rate(1, 60), at)
        assert wait == pytest.approx(1.0 - at)
    assert bucket.take(Rate(1, 60), 1.0)[1] == 0.0


def test_addresses_have_buckets_of_their_own() -> None:
    limiter = AddressLimiter(Rate(1, 1))
    assert limiter.take("198.51.100.7", 0.0) == 0.0
    assert limiter.take("198.51.100.7", 0.0) > 0
    assert limiter.take("198.51.100.8", 0.0) == 0.0


def test_an_ipv6_client_counts_by_its_64_and_a_mapped_ipv4_as_ipv4() -> None:
    assert address_key("2001:db8:1:2:aaaa::1") == address_key("2001:db8:1:2:ffff::9") == "2001:db8:1:2::/64"
    assert address_key("2001:db8:1:3::1") != address_key("2001:db8:1:2::1")
    assert address_key("::ffff:198.51.100.7") == "198.51.100.7"
    assert address_key("not an address") == "not an address"
    limiter = AddressLimiter(Rate(1, 1))
    assert limiter.take("2001:db8:1:2::1", 0.0) == 0.0
    assert limiter.take("2001:db8:1:2::2", 0.0) > 0  # another address of the same /64


def test_the_table_is_bounded_forgetting_the_address_seen_longest_ago() -> None:
    limiter = AddressLimiter(Rate(1, 1), max_addresses=3)
    for host in ("198.51.100.1", "198.51.100.2", "198.51.100.3"):
        limiter.take(host, 0.0)
    limiter.take("198.51.100.1", 1.0)  # seen again: now the most recent
    limiter.take("198.51.100.4", 2.0)
    assert len(limiter) == 3
    assert limiter.take("198.51.100.1", 2.0) > 0  # remembered: still empty
    assert limiter.take("198.51.100.2", 2.0) == 0.0  # forgotten: a full bucket again


def test_connections_and_identifies_are_limited_apart_and_refusals_say_when_to_try_again() -> None:
    limits = SignalingLimits(connections=Rate(2, 60), identifies=Rate(1, 30))
    assert limits.connect("198.51.100.7", 0.0) is None
    assert limits.identify("198.51.100.7", 0.0) is None
    refused = limits.identify("198.51.100.7", 0.0)
    assert refused is not None and refused.retry_after == pytest.approx(2.0)
    assert refused.message == "too many identifies from this address: try again in 2 s"
    assert limits.connect("198.51.100.7", 0.0) is None  # its own bucket still had one
    connections = limits.connect("198.51.100.7", 0.0)
    assert connections is not None and "too many connections" in connections.message


@pytest.mark.parametrize(("burst", "per_minute"), [(0, 60), (1, 0), (1, -1)])
def test_a_rate_that_allows_nothing_is_refused(burst: int, per_minute: float) -> None:
    with pytest.raises(ValueError, match="at least 1 at once"):
        Rate(burst, per_minute)


def test_a_device_may_send_its_limit_in_any_window_and_a_device_gone_starts_afresh() -> None:
    limit = PerDevice(limit=2, window=2.0)
    assert limit.take(1, 0.0) and limit.take(1, 1.0)
    assert not limit.take(1, 1.5)  # two in the last 2 s already; this one is not counted
    assert limit.take(2, 1.5)  # another device has its own window
    assert limit.take(1, 2.0)  # the one at 0.0 has left the window
    assert not limit.take(1, 2.5)
    limit.forget(1)
    assert limit.take(1, 2.5)
