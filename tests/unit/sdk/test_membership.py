"""CallMembership: the key group held against the roster, with the clock stepped by hand."""

from __future__ import annotations

from parley.protocol.codes import AlarmKind, MembershipStatus
from parley.sdk.membership import JOINING_BOUND, LEAVING_GRACE, CallMembership

ME, A, B, GHOST = 1, 2, 3, 666
KEY = {ME: b"me", A: b"a", B: b"b", GHOST: b"ghost"}


def watch() -> CallMembership:
    membership = CallMembership(ME)
    membership.roster({ME: KEY[ME], A: KEY[A], B: KEY[B]}, 0.0)
    membership.key_group({ME: KEY[ME], A: KEY[A], B: KEY[B]}, 1.0)
    return membership


def test_a_call_whose_key_group_matches_the_roster_shows_everyone_in_it_and_sends() -> None:
    membership = watch()
    assert [(m.user_id, m.status) for m in membership.members(2.0)] == [
        (A, MembershipStatus.IN_CALL),
        (B, MembershipStatus.IN_CALL),
    ]
    assert not membership.hold(2.0) and membership.alarms == []


def test_a_key_group_member_the_roster_never_showed_is_hidden_named_and_holds_media() -> None:
    membership = watch()
    alarms = membership.key_group({ME: KEY[ME], A: KEY[A], B: KEY[B], GHOST: KEY[GHOST]}, 3.0)
    assert [(a.kind, a.user_id) for a in alarms] == [(AlarmKind.HIDDEN_MEMBER, GHOST)]
    assert str(GHOST) in alarms[0].text
    assert membership.hold(3.0)
    assert {m.user_id: m.status for m in membership.members(3.0)}[GHOST] is MembershipStatus.HIDDEN
    membership.key_group({ME: KEY[ME], A: KEY[A], B: KEY[B]}, 4.0)  # removed: sending resumes
    assert not membership.hold(4.0)


def test_a_leaving_device_is_not_hidden_within_the_grace_but_is_after_it() -> None:
    membership = watch()
    assert membership.roster({ME: KEY[ME], A: KEY[A]}, 10.0) == []
    assert {m.user_id: m.status for m in membership.members(11.0)}[B] is MembershipStatus.LEAVING
    assert not membership.hold(11.0)
    assert membership.deadline(11.0) == 10.0 + LEAVING_GRACE
    alarms = membership.tick(10.0 + LEAVING_GRACE)
    assert [(a.kind, a.user_id) for a in alarms] == [(AlarmKind.HIDDEN_MEMBER, B)]
    assert membership.hold(10.0 + LEAVING_GRACE)


def test_a_user_id_whose_key_changes_raises_the_alarm_and_holds_media() -> None:
    membership = watch()
    alarms = membership.key_group({ME: KEY[ME], A: KEY[A], B: b"server's key"}, 5.0)
    assert [(a.kind, a.user_id) for a in alarms] == [(AlarmKind.KEY_CHANGED, B)]
    assert membership.hold(5.0)
    # Leaving and coming back with the swapped key changes nothing: the first key is the one.
    membership.key_group({ME: KEY[ME], A: KEY[A]}, 6.0)
    membership.key_group({ME: KEY[ME], A: KEY[A], B: b"server's key"}, 7.0)
    assert membership.hold(7.0)


def test_a_leaf_whose_key_is_not_the_one_the_roster_announced_is_a_key_change() -> None:
    membership = CallMembership(ME)
    membership.roster({A: KEY[A]}, 0.0)
    alarms = membership.key_group({ME: KEY[ME], A: b"another"}, 1.0)
    assert [(a.kind, a.user_id) for a in alarms] == [(AlarmKind.KEY_CHANGED, A)]


def test_a_roster_entry_that_never_reaches_the_key_group_raises_an_alarm_after_the_bound() -> None:
    membership = watch()
    membership.roster({ME: KEY[ME], A: KEY[A], B: KEY[B], GHOST: KEY[GHOST]}, 10.0)
    assert {m.user_id: m.status for m in membership.members(11.0)}[GHOST] is MembershipStatus.JOINING
    assert membership.deadline(11.0) == 10.0 + JOINING_BOUND
    alarms = membership.tick(10.0 + JOINING_BOUND)
    assert membership.deadline(10.0 + JOINING_BOUND) is None  # nothing left to wait for
    assert [(a.kind, a.user_id) for a in alarms] == [(AlarmKind.NOT_IN_GROUP, GHOST)]
    assert not membership.hold(10.0 + JOINING_BOUND)  # it cannot decrypt: nothing to hold from


def test_an_alarm_is_raised_once_while_it_stands_and_again_if_it_comes_back() -> None:
    membership = watch()
    with_ghost = {ME: KEY[ME], A: KEY[A], B: KEY[B], GHOST: KEY[GHOST]}
    assert len(membership.key_group(with_ghost, 2.0)) == 1
    assert membership.key_group(with_ghost, 3.0) == []
    membership.key_group({ME: KEY[ME], A: KEY[A], B: KEY[B]}, 4.0)
    assert len(membership.key_group(with_ghost, 5.0)) == 1
    assert len(membership.alarms) == 2


def test_a_call_in_order_has_no_deadline_this_device_included() -> None:
    assert watch().deadline(2.0) is None
