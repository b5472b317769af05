"""Pins: a device trusts the pin set its own delegation's key signed (the fingerprint from its link
or officer), for its summit, never an older one; nothing else the server hands it."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from identities import SUMMIT, Delegation, pins_of, with_a_byte_changed

from parley.identity.fingerprint import Fingerprint
from parley.identity.pins import LABEL, PinSet, _body, sign_pins, verify_pins
from parley.identity.problems import IdentityError, Problem

A = Delegation("Delegation A", "a1a1a1a1a1a1a1a1")
B = Delegation("Delegation B", "b2b2b2b2b2b2b2b2")
C = Delegation("Delegation C", "c3c3c3c3c3c3c3c3")


def signed(by: Delegation, sequence: int = 1, summit_id: str = SUMMIT) -> PinSet:
    return sign_pins(by.key, summit_id, sequence, {A.name: A.key.fingerprint, B.name: B.key.fingerprint})


def test_a_pin_set_round_trips_and_its_own_delegation_trusts_it() -> None:
    pin_set = signed(A)
    assert PinSet.from_bytes(pin_set.to_bytes()) == pin_set
    assert PinSet.from_text(pin_set.to_text()) == pin_set
    pins = verify_pins(pin_set, A.key.fingerprint, SUMMIT)
    assert pins.own_delegation == A.name
    assert pins.by_name == {A.name: A.key.fingerprint, B.name: B.key.fingerprint}
    assert pins.delegation_of(B.key.fingerprint) == B.name
    assert pins.delegation_of(C.key.fingerprint) is None


def test_a_pin_set_signed_by_another_delegation_is_refused_even_when_genuine() -> None:
    # B's officer really signed it, and it pins the same keys: still not A's devices' to trust.
    with pytest.raises(IdentityError, match="not by this device's own delegation") as refused:
        verify_pins(signed(B), A.key.fingerprint, SUMMIT)
    assert refused.value.problem is Problem.NOT_OWN_DELEGATION


def test_a_pin_set_the_server_altered_is_refused() -> None:
    pin_set = signed(A)
    swapped = dataclasses.replace(
        pin_set, pins=tuple(sorted({A.name: A.key.fingerprint, B.name: C.key.fingerprint}.items()))
    )
    with pytest.raises(IdentityError, match="forged or altered") as refused:
        verify_pins(swapped, A.key.fingerprint, SUMMIT)
    assert refused.value.problem is Problem.BAD_SIGNATURE


def test_a_pin_set_for_another_summit_is_refused() -> None:
    with pytest.raises(IdentityError) as refused:
        verify_pins(signed(A, summit_id="0000111122223333"), A.key.fingerprint, SUMMIT)
    assert refused.value.problem is Problem.WRONG_SUMMIT


def test_an_older_pin_set_cannot_replace_the_one_held() -> None:
    held = verify_pins(signed(A, sequence=2), A.key.fingerprint, SUMMIT)
    assert verify_pins(signed(A, sequence=2), A.key.fingerprint, SUMMIT, held) == held
    with pytest.raises(IdentityError, match="numbered 1 cannot replace number 2") as refused:
        verify_pins(signed(A, sequence=1), A.key.fingerprint, SUMMIT, held)
    assert refused.value.problem is Problem.STALE
    assert verify_pins(signed(A, sequence=3), A.key.fingerprint, SUMMIT, held).sequence == 3


def test_an_officer_pins_their_own_delegation_too() -> None:
    with pytest.raises(ValueError, match="its own delegation's key too"):
        sign_pins(A.key, SUMMIT, 1, {B.name: B.key.fingerprint})
    # Made by hand without it: its own devices refuse it.
    pins = ((B.name, B.key.fingerprint),)
    hand_made = PinSet(
        SUMMIT, A.key.public_key, 1, pins, A.key.sign(LABEL + _body(SUMMIT, A.key.public_key, 1, pins))
    )
    with pytest.raises(IdentityError, match="do not name the delegation that signed them"):
        verify_pins(hand_made, A.key.fingerprint, SUMMIT)


def test_one_key_pinned_for_two_delegations_is_refused() -> None:
    with pytest.raises(ValueError, match="one key pinned for two delegations"):
        sign_pins(A.key, SUMMIT, 1, {A.name: A.key.fingerprint, B.name: A.key.fingerprint})


def test_the_helper_gives_a_device_its_delegations_pins() -> None:
    pins = pins_of(B, A, C)
    assert pins.own_delegation == B.name and set(pins.by_name) == {A.name, B.name, C.name}
    assert isinstance(pins.by_name[C.name], Fingerprint)


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_changing_any_byte_of_a_pin_set_fails_it(data: st.DataObject) -> None:
    raw = with_a_byte_changed(data, signed(A).to_bytes())
    with pytest.raises(IdentityError):
        verify_pins(PinSet.from_bytes(raw), A.key.fingerprint, SUMMIT)
