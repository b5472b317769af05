"""A language's booth: one live voice at a time, the handover, the cough key, and what is refused."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from parley.interpretation.booth import Booth, BoothError, BoothState
from parley.protocol.server_ops import BoothInfo

A, B, C, OUTSIDER = 11, 22, 33, 99


def booth(*interpreters: int) -> Booth:
    result = Booth("ru")
    for user_id in interpreters:
        result = result.join(user_id)
    return result


def refused(change: Any, *args: Any) -> str:
    with pytest.raises(BoothError) as caught:
        change(*args)
    return caught.value.code


def test_a_new_booth_is_idle_and_forwards_nobody() -> None:
    empty = Booth("ru")
    assert empty.state is BoothState.IDLE and empty.live is None and empty.forwarding() is None
    assert empty.info() == BoothInfo(
        language="ru", interpreters=[], live=None, handing_over=False, muted=False
    )


def test_interpreters_join_in_order_of_arrival_and_joining_twice_changes_nothing() -> None:
    joined = booth(B, A)
    assert joined.interpreters == (B, A)
    assert joined.join(A) is joined


def test_taking_over_an_idle_booth_makes_the_interpreter_live_and_forwarded() -> None:
    live = booth(A, B).take_over(A, publishing=True)
    assert live.state is BoothState.LIVE and live.live == A and live.forwarding() == A
    assert live.info().live == A and live.info().muted is False


def test_a_booth_is_immutable_and_a_change_returns_a_new_one() -> None:
    idle = booth(A)
    live = idle.take_over(A, publishing=True)
    assert idle.live is None and live is not idle
    with pytest.raises(dataclasses.FrozenInstanceError):
        idle.live = A  # type: ignore[misc]


def test_a_mate_cannot_take_over_while_someone_is_live_and_not_handing_over() -> None:
    live = booth(A, B).take_over(A, publishing=True)
    assert refused(live.take_over, B, True) == "booth_busy"


def test_the_handover_passes_the_turn_and_the_outgoing_voice_stays_until_the_mate_takes_over() -> None:
    handing = booth(A, B).take_over(A, publishing=True).hand_over(A)
    assert handing.state is BoothState.HANDING_OVER
    assert handing.live == A and handing.forwarding() == A  # no gap of the handover's making
    assert handing.info().handing_over is True
    taken = handing.take_over(B, publishing=True)
    assert taken.state is BoothState.LIVE and taken.live == B and taken.forwarding() == B
    assert taken.handing_over is False


def test_handing_over_twice_is_harmless_and_the_mate_can_still_take_over() -> None:
    handing = booth(A, B).take_over(A, publishing=True).hand_over(A).hand_over(A)
    assert handing.take_over(B, publishing=True).live == B


def test_taking_over_needs_a_publishing_microphone_even_in_an_idle_booth() -> None:
    assert refused(booth(A).take_over, A, False) == "not_publishing"
    handing = booth(A, B).take_over(A, publishing=True).hand_over(A)
    assert refused(handing.take_over, B, False) == "not_publishing"


def test_the_live_interpreter_taking_over_again_is_already_live() -> None:
    live = booth(A).take_over(A, publishing=True)
    assert refused(live.take_over, A, True) == "already_live"
    assert refused(live.hand_over(A).take_over, A, True) == "already_live"


def test_only_the_live_interpreter_hands_over() -> None:
    assert refused(booth(A, B).hand_over, A) == "not_live"
    live = booth(A, B).take_over(A, publishing=True)
    assert refused(live.hand_over, B) == "not_live"


def test_someone_outside_the_booth_may_do_nothing_in_it() -> None:
    live = booth(A).take_over(A, publishing=True)
    assert refused(booth(A).take_over, OUTSIDER, True) == "forbidden"
    assert refused(live.hand_over(A).take_over, OUTSIDER, True) == "forbidden"
    assert refused(live.hand_over, OUTSIDER) == "forbidden"
    assert refused(live.cough, OUTSIDER, True) == "forbidden"


def test_a_booth_error_carries_its_code_and_a_message_for_the_person() -> None:
    with pytest.raises(BoothError, match="ru booth") as caught:
        booth(A).hand_over(OUTSIDER)
    assert caught.value.code == "forbidden"


def test_the_cough_key_mutes_the_live_voice_without_ending_the_turn() -> None:
    live = booth(A, B).take_over(A, publishing=True)
    coughing = live.cough(A, True)
    assert coughing.live == A and coughing.state is BoothState.LIVE
    assert coughing.forwarding() is None and coughing.info().muted is True
    assert refused(coughing.take_over, B, True) == "booth_busy"  # still A's turn
    released = coughing.cough(A, False)
    assert released.forwarding() == A and released.info().muted is False


def test_a_mate_coughing_before_taking_over_is_live_but_silent_until_it_releases_the_key() -> None:
    handing = booth(A, B).take_over(A, publishing=True).hand_over(A).cough(B, True)
    assert handing.forwarding() == A and handing.info().muted is False  # B's key mutes only B
    taken = handing.take_over(B, publishing=True)
    assert taken.live == B and taken.forwarding() is None
    assert taken.cough(B, False).forwarding() == B


def test_the_live_interpreter_leaving_ends_its_turn_and_its_cough() -> None:
    live = booth(A, B).take_over(A, publishing=True).hand_over(A).cough(A, True)
    gone = live.leave(A)
    assert gone.state is BoothState.IDLE and gone.live is None and gone.handing_over is False
    assert gone.interpreters == (B,) and gone.coughing == frozenset()
    assert gone.take_over(B, publishing=True).forwarding() == B


def test_a_mate_leaving_does_not_disturb_the_live_voice() -> None:
    live = booth(A, B).take_over(A, publishing=True).cough(B, True)
    left = live.leave(B)
    assert left.live == A and left.forwarding() == A and left.interpreters == (A,)
    assert left.coughing == frozenset()
    assert left.leave(OUTSIDER) == left


# -- any sequence of operations -----------------------------------------------------------------

USERS = st.sampled_from([A, B, C, OUTSIDER])
OPERATIONS = st.lists(
    st.tuples(st.sampled_from(["join", "leave", "take_over", "hand_over", "cough"]), USERS, st.booleans()),
    max_size=40,
)


def expected_refusal(before: Booth, op: str, user_id: int, flag: bool) -> str | None:
    """What the docstring's table says about `op` (None: allowed)."""
    if op in ("join", "leave"):
        return None
    if user_id not in before.interpreters:
        return "forbidden"
    if op == "take_over":
        if before.live == user_id:
            return "already_live"
        if not flag:
            return "not_publishing"
        if before.state is BoothState.LIVE:
            return "booth_busy"
    if op == "hand_over" and before.live != user_id:
        return "not_live"
    return None


def apply(before: Booth, op: str, user_id: int, flag: bool) -> Booth:
    if op == "join":
        return before.join(user_id)
    if op == "leave":
        return before.leave(user_id)
    if op == "take_over":
        return before.take_over(user_id, flag)
    if op == "hand_over":
        return before.hand_over(user_id)
    return before.cough(user_id, flag)


@given(OPERATIONS)
def test_any_sequence_keeps_one_voice_at_most_and_refusals_change_nothing(
    operations: list[tuple[str, int, bool]],
) -> None:
    current = Booth("ru")
    for op, user_id, flag in operations:
        snapshot = dataclasses.replace(current)
        expected = expected_refusal(current, op, user_id, flag)
        try:
            after = apply(current, op, user_id, flag)
        except BoothError as e:
            assert e.code == expected, (op, user_id, flag, current)
            assert current == snapshot  # immutable: the refused change left the booth as it was
            continue
        assert expected is None, (op, user_id, flag, current)
        assert current == snapshot  # the old booth is untouched by the change either
        if op == "take_over":
            assert after.live == user_id and after.handing_over is False
        current = after
        assert current.live is None or current.live in current.interpreters
        assert current.forwarding() is None or current.forwarding() == current.live
        assert current.live is not None or not current.handing_over
        assert current.coughing <= set(current.interpreters)
        assert len(set(current.interpreters)) == len(current.interpreters)
        assert current.info().muted == (current.live is not None and current.forwarding() is None)
