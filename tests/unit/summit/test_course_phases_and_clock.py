"""The course on its own: phase order, lock, overrun, and the clock stepped by hand."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from parley.summit.course import Admission, AtEnd, Course, CourseError, Phase

START = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)


def course(at_end: AtEnd = AtEnd.HARD_STOP, minutes: int = 120) -> Course:
    return Course.new(START, timedelta(minutes=minutes), Admission.HOST, at_end)


def test_phases_go_forward_one_at_a_time() -> None:
    c = course()
    for phase in (Phase.LOBBY, Phase.OPENING, Phase.CLOSED_SESSION, Phase.ENDED):
        c = c.advance(phase)
        assert c.phase is phase


@pytest.mark.parametrize(
    ("start", "to"),
    [
        (Phase.SCHEDULED, Phase.OPENING),
        (Phase.LOBBY, Phase.CLOSED_SESSION),
        (Phase.OPENING, Phase.LOBBY),
        (Phase.OPENING, Phase.OPENING),
        (Phase.ENDED, Phase.LOBBY),
    ],
)
def test_a_phase_out_of_order_is_refused_and_says_which_comes_next(start: Phase, to: Phase) -> None:
    c = Course(START, START + timedelta(hours=2), phase=start)
    with pytest.raises(CourseError) as caught:
        c.advance(to)
    assert caught.value.code == "phase_order"
    assert "next phase" in str(caught.value) or "ended" in str(caught.value)


def test_the_press_is_allowed_up_to_the_end_of_the_opening() -> None:
    allowed = {p: Course(START, START, phase=p).press_allowed() for p in Phase}
    assert allowed == {
        Phase.SCHEDULED: True,
        Phase.LOBBY: True,
        Phase.OPENING: True,
        Phase.CLOSED_SESSION: False,
        Phase.ENDED: False,
    }


def test_warnings_come_at_10_and_2_minutes_once_each() -> None:
    c = course()
    end = c.ends_at
    c, due = c.due_warnings(end - timedelta(minutes=11))
    assert due == []
    c, due = c.due_warnings(end - timedelta(minutes=10))
    assert due == [10]
    c, due = c.due_warnings(end - timedelta(minutes=5))
    assert due == []
    c, due = c.due_warnings(end - timedelta(minutes=2))
    assert due == [2]
    c, due = c.due_warnings(end)
    assert due == []


def test_a_late_join_gets_only_the_nearest_warning() -> None:
    c, due = course().due_warnings(course().ends_at - timedelta(seconds=30))
    assert due == [2] and set(c.warned) == {10, 2}


def test_a_hard_stop_ends_at_the_scheduled_end_and_not_before() -> None:
    c = course()
    assert not c.ends_now(c.ends_at - timedelta(seconds=1))
    assert c.ends_now(c.ends_at)
    assert c.next_deadline() == c.ends_at - timedelta(minutes=10)


def test_an_allowed_overrun_runs_on_until_the_host_ends_it() -> None:
    c = course(AtEnd.OVERRUN).allow_overrun()
    assert not c.ends_now(c.ends_at + timedelta(hours=1))
    c, _ = c.due_warnings(c.ends_at)
    assert c.next_deadline() is None
    assert c.advance(Phase.LOBBY).phase is Phase.LOBBY


def test_an_overrun_summit_not_yet_allowed_still_stops_and_a_hard_stop_cannot_be_overrun() -> None:
    assert course(AtEnd.OVERRUN).ends_now(START + timedelta(hours=2))
    with pytest.raises(CourseError) as caught:
        course(AtEnd.HARD_STOP).allow_overrun()
    assert caught.value.code == "no_overrun"


def test_an_ended_summit_cannot_be_locked_or_overrun() -> None:
    ended = Course(START, START, at_end=AtEnd.OVERRUN, phase=Phase.ENDED)
    changes: list[Callable[[], Course]] = [lambda: ended.lock(True), ended.allow_overrun]
    for change in changes:
        with pytest.raises(CourseError) as caught:
            change()
        assert caught.value.code == "summit_ended"
    assert ended.next_deadline() is None and not ended.ends_now(START + timedelta(days=1))
