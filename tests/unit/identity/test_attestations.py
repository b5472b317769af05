"""Epoch attestations, signed with real DAVE keys (dave.py, as the SDK signs), and the tracker that
finds a member silent past the bound or attesting another group; the clock is stepped by hand."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from identities import SUMMIT, Delegation, Device, with_a_byte_changed

from parley.identity.attestation import (
    ATTESTATION_BOUND,
    MAX_AHEAD,
    AttestationState,
    AttestationTracker,
    EpochAttestation,
    attest,
)
from parley.identity.problems import IdentityError, Problem

A = Delegation("Delegation A", "a1a1a1a1a1a1a1a1")
B = Delegation("Delegation B", "b2b2b2b2b2b2b2b2")
ME, ALLY, OTHER = A.device(1), A.device(2), B.device(3)
MEMBERS = {d.user_id: d.public for d in (ME, ALLY, OTHER)}
AUTH, FORK = b"\x11" * 32, b"\x22" * 32


def attestation(device: Device = ALLY, epoch: int = 5, authenticator: bytes = AUTH) -> EpochAttestation:
    return attest(SUMMIT, epoch, authenticator, device.user_id, device.sign)


def tracker_at_epoch_5(now: float = 100.0) -> AttestationTracker:
    tracker = AttestationTracker(SUMMIT, ME.user_id)
    tracker.enter_epoch(5, AUTH, MEMBERS, now)
    return tracker


def test_an_attestation_round_trips_and_verifies_only_with_its_members_key() -> None:
    made = attestation()
    assert EpochAttestation.from_bytes(made.to_bytes()) == made
    assert made.verify(ALLY.public)
    assert not made.verify(OTHER.public)
    assert not made.verify(b"\x04" + bytes(64))  # not even a point


def test_members_that_attest_the_same_group_raise_nothing() -> None:
    tracker = tracker_at_epoch_5()
    assert tracker.states(100.0) == {2: AttestationState.AWAITED, 3: AttestationState.AWAITED}
    assert tracker.deadline(100.0) == 100.0 + ATTESTATION_BOUND
    assert tracker.receive(attestation(ALLY), 100.5) == []
    assert tracker.receive(attestation(OTHER), 100.7) == []
    assert tracker.states(200.0) == {2: AttestationState.ATTESTED, 3: AttestationState.ATTESTED}
    assert tracker.deadline(100.8) is None and tracker.tick(200.0) == [] and tracker.alarms == []


def test_a_member_silent_past_the_bound_raises_one_alarm_naming_it() -> None:
    tracker = tracker_at_epoch_5()
    tracker.receive(attestation(ALLY), 100.5)
    assert tracker.tick(100.0 + ATTESTATION_BOUND - 0.01) == []
    alarms = tracker.tick(100.0 + ATTESTATION_BOUND)
    assert [(a.state, a.user_id, a.epoch) for a in alarms] == [(AttestationState.SILENT, 3, 5)]
    assert str(alarms[0]) == "user 3 has not attested epoch 5 within 2 s: it may be kept in another group"
    assert tracker.tick(200.0) == []  # once
    assert tracker.states(200.0)[3] is AttestationState.SILENT


def test_a_member_attesting_another_group_at_this_epoch_is_a_split() -> None:
    tracker = tracker_at_epoch_5()
    alarms = tracker.receive(attestation(OTHER, authenticator=FORK), 100.3)
    assert [(a.state, a.user_id) for a in alarms] == [(AttestationState.MISMATCH, 3)]
    assert "the call is split" in alarms[0].text
    # Attesting ours as well afterwards does not undo having signed another.
    assert tracker.receive(attestation(OTHER), 100.4) == []
    assert tracker.states(100.4)[3] is AttestationState.MISMATCH


def test_an_attestation_ahead_of_this_device_waits_for_its_epoch() -> None:
    tracker = tracker_at_epoch_5()
    assert tracker.receive(attestation(ALLY, epoch=6, authenticator=FORK), 101.0) == []
    alarms = tracker.enter_epoch(6, FORK, MEMBERS, 101.2)
    assert alarms == [] and tracker.states(101.2)[2] is AttestationState.ATTESTED
    # One that waited with another authenticator is a split as soon as this device gets there.
    tracker.receive(attestation(OTHER, epoch=7, authenticator=AUTH), 101.3)
    alarms = tracker.enter_epoch(7, FORK, MEMBERS, 101.5)
    assert [(a.state, a.user_id, a.epoch) for a in alarms] == [(AttestationState.MISMATCH, 3, 7)]


def test_a_device_joining_a_long_running_group_counts_the_attestations_that_came_before_its_welcome() -> None:
    tracker = AttestationTracker(SUMMIT, ME.user_id)
    tracker.receive(attest(SUMMIT, 57, AUTH, 3, ALLY.sign), 99.0)  # a forgery first: it crowds out nothing
    tracker.receive(attestation(OTHER, epoch=57), 99.0)
    tracker.receive(attestation(ALLY, epoch=57), 99.1)
    assert tracker.enter_epoch(57, AUTH, MEMBERS, 100.0) == []
    assert set(tracker.states(100.0).values()) == {AttestationState.ATTESTED}


def test_an_attestation_too_far_ahead_is_not_kept() -> None:
    tracker = tracker_at_epoch_5()
    tracker.receive(attestation(ALLY, epoch=5 + MAX_AHEAD + 1), 100.1)
    tracker.enter_epoch(5 + MAX_AHEAD + 1, AUTH, MEMBERS, 101.0)
    assert tracker.states(101.0)[2] is AttestationState.AWAITED


def test_a_new_epoch_requires_a_new_attestation_from_everyone() -> None:
    tracker = tracker_at_epoch_5()
    tracker.receive(attestation(ALLY), 100.1)
    tracker.receive(attestation(OTHER), 100.1)
    tracker.enter_epoch(6, FORK, MEMBERS, 110.0)
    assert set(tracker.states(110.0).values()) == {AttestationState.AWAITED}
    assert tracker.deadline(110.0) == 110.0 + ATTESTATION_BOUND


@pytest.mark.parametrize(
    ("made", "problem"),
    [
        (lambda: attestation(epoch=4), Problem.STALE),
        (lambda: attest("0000111122223333", 5, AUTH, 2, ALLY.sign), Problem.WRONG_SUMMIT),
        (lambda: attest(SUMMIT, 5, AUTH, 9, ALLY.sign), Problem.NOT_A_MEMBER),
        (lambda: attest(SUMMIT, 5, AUTH, 3, ALLY.sign), Problem.BAD_SIGNATURE),  # ALLY signs as OTHER
    ],
)
def test_an_attestation_that_cannot_count_is_refused_and_changes_nothing(
    made: object, problem: Problem
) -> None:
    tracker = tracker_at_epoch_5()
    assert callable(made)
    with pytest.raises(IdentityError) as refused:
        tracker.receive(made(), 100.5)
    assert refused.value.problem is problem
    assert set(tracker.states(100.5).values()) == {AttestationState.AWAITED}


def test_a_forged_attestation_waiting_ahead_is_dropped_on_arrival() -> None:
    tracker = tracker_at_epoch_5()
    tracker.receive(attest(SUMMIT, 6, FORK, 3, ALLY.sign), 100.5)  # not OTHER's signature
    assert tracker.enter_epoch(6, AUTH, MEMBERS, 101.0) == []
    assert tracker.states(101.0)[3] is AttestationState.AWAITED


def test_this_devices_own_attestation_is_not_required() -> None:
    assert ME.user_id not in tracker_at_epoch_5().states(100.0)


def test_an_attestation_body_out_of_bounds_cannot_be_made() -> None:
    with pytest.raises(ValueError, match="authenticator is 1 to 64 bytes"):
        dataclasses.replace(attestation(), authenticator=b"")


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_changing_any_byte_of_an_attestation_fails_it(data: st.DataObject) -> None:
    raw = with_a_byte_changed(data, attestation().to_bytes())
    tracker = tracker_at_epoch_5()
    try:
        tampered = EpochAttestation.from_bytes(raw)
        tracker.receive(tampered, 100.5)
    except IdentityError:
        pass
    # Whatever the byte: it counts as no one's attestation, of this group or another.
    assert set(tracker.states(100.5).values()) == {AttestationState.AWAITED}
