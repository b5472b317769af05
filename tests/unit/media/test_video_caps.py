"""The video caps' rules, on a stepped clock (no Janus: the reports are given by hand)."""

from __future__ import annotations

from itertools import pairwise

from parley.media.video_caps import CALM, CEILING, DECREASE, FLOOR, INCREASE, SETTLE, SUSTAINED, VideoCaps

A, B, C = 1, 2, 3
ROOM, OTHER_ROOM = 10, 20


def test_one_slow_second_of_a_stream_is_not_enough_to_lower_a_cap() -> None:
    caps = VideoCaps()
    caps.published(ROOM, A)
    assert caps.slow(B, A, "video", 10.0) is None
    # A report on another stream, or from another receiver, is not the same loss lasting.
    assert caps.slow(B, A, "audio", 10.5) is None
    assert caps.slow(C, A, "video", 11.0) is None
    assert caps.cap(A) == CEILING


def test_a_receiver_slow_twice_in_a_row_lowers_the_feed_and_only_that_feed() -> None:
    caps = VideoCaps()
    caps.published(ROOM, A)
    caps.published(ROOM, C)
    caps.slow(B, A, "video", 10.0)
    assert caps.slow(B, A, "video", 11.0) == int(CEILING * DECREASE)
    assert caps.cap(A) == int(CEILING * DECREASE)
    assert caps.cap(C) == CEILING


def test_reports_further_apart_than_sustained_do_not_lower_the_cap() -> None:
    caps = VideoCaps()
    caps.published(ROOM, A)
    caps.slow(B, A, "video", 10.0)
    assert caps.slow(B, A, "video", 10.0 + SUSTAINED + 0.1) is None


def test_a_cap_falls_at_most_once_per_settle_and_never_below_the_floor() -> None:
    caps = VideoCaps()
    caps.published(ROOM, A)
    now = 10.0
    caps.slow(B, A, "video", now)
    changes = []
    for _ in range(40):
        now += 1.0  # Janus reports a slow stream once a second at most
        if (cap := caps.slow(B, A, "video", now)) is not None:
            changes.append((now, cap))
    assert all(later - earlier >= SETTLE for (earlier, _), (later, _) in pairwise(changes))
    assert [cap for _, cap in changes] == sorted((cap for _, cap in changes), reverse=True)
    assert caps.cap(A) == FLOOR


def test_a_cap_rises_step_by_step_once_no_receiver_has_been_slow_for_calm_seconds() -> None:
    caps = VideoCaps()
    caps.published(ROOM, A)
    caps.slow(B, A, "video", 10.0)
    lowered = caps.slow(B, A, "video", 11.0)
    assert lowered is not None
    assert caps.tick(11.0 + CALM - 0.1) == []
    assert caps.tick(11.0 + CALM) == [(A, int(lowered * INCREASE))]
    # The next step waits CALM again, and the cap never passes the ceiling.
    assert caps.tick(11.0 + CALM + 1.0) == []
    now = 11.0 + CALM
    for _ in range(10):
        now += CALM
        caps.tick(now)
    assert caps.cap(A) == CEILING
    assert caps.tick(now + CALM) == []


def test_a_slow_report_while_calm_restarts_the_wait_to_rise() -> None:
    caps = VideoCaps()
    caps.published(ROOM, A)
    caps.slow(B, A, "video", 10.0)
    caps.slow(B, A, "video", 11.0)
    caps.slow(C, A, "video", 15.0)  # once: does not lower, but the feed is not calm
    assert caps.tick(11.0 + CALM) == []
    assert caps.tick(15.0 + CALM) != []


def test_a_new_publisher_starts_at_the_ceiling_and_a_gone_device_is_forgotten() -> None:
    caps = VideoCaps()
    caps.published(ROOM, A)
    caps.slow(B, A, "video", 10.0)
    caps.slow(B, A, "video", 11.0)
    # A published again (a rejoin, a Janus restart), alone in its room: Janus starts it afresh.
    assert caps.published(ROOM, A) == CEILING
    assert caps.cap(A) == CEILING
    caps.slow(B, A, "video", 12.0)
    caps.forget(B)  # B's earlier report goes with it: B back is a new receiver
    assert caps.slow(B, A, "video", 13.0) is None
    caps.forget(A)
    assert caps.tick(100.0) == []


def test_a_feed_published_into_a_room_starts_at_the_lowest_cap_there() -> None:
    caps = VideoCaps()
    caps.published(ROOM, A)
    caps.published(ROOM, C)
    caps.slow(B, A, "video", 10.0)
    lowered = caps.slow(B, A, "video", 11.0)
    assert lowered is not None and lowered < CEILING
    # B (the slow receiver) will receive the newcomer too; another room's caps say nothing of it.
    assert caps.published(ROOM, B) == lowered
    assert caps.published(OTHER_ROOM, 4) == CEILING


def test_a_report_for_a_feed_not_published_changes_nothing() -> None:
    caps = VideoCaps()
    assert caps.slow(B, A, "video", 10.0) is None
    assert caps.slow(B, A, "video", 11.0) is None
    assert caps.tick(100.0) == []
