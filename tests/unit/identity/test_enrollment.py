"""Enrollment: the device's request signed by its own DAVE key (dave.py, as the SDK signs), the
officer's approval, and the device's check of the certificate it is handed through the server."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from identities import HOUR, NOW, SUMMIT, Delegation, with_a_byte_changed

from parley.identity.certificate import issue
from parley.identity.delegation_key import DelegationKey
from parley.identity.enrollment import (
    MAX_VALIDITY,
    EnrollmentRequest,
    accept_certificate,
    approve,
    make_request,
    verify_request,
)
from parley.identity.problems import IdentityError, Problem
from parley.protocol.vocabulary import Role

A = Delegation("Delegation A", "a1a1a1a1a1a1a1a1")
B = Delegation("Delegation B", "b2b2b2b2b2b2b2b2")
DEVICE = A.device(201, Role.PRINCIPAL, ("Amina Diallo",))
REQUEST = make_request(DEVICE.claim, DEVICE.sign)


def test_a_request_round_trips_as_text_and_shows_a_twenty_digit_code() -> None:
    text = REQUEST.to_text()
    assert text.startswith("parley-enrollment:")
    assert EnrollmentRequest.from_text(text) == REQUEST
    groups = REQUEST.code.split()
    assert len(groups) == 4 and all(len(g) == 5 and g.isdigit() for g in groups)
    # The code is the claim's: the same on the device and at the officer's, whatever the signature.
    assert make_request(DEVICE.claim, DEVICE.sign).code == REQUEST.code
    other = A.device(201, Role.PRINCIPAL, ("Amina Diallo",))  # another key, all else equal
    assert make_request(other.claim, other.sign).code != REQUEST.code
    verify_request(REQUEST)


def test_the_officer_approves_and_the_device_accepts_its_certificate() -> None:
    certificate = approve(A.key, REQUEST, A.name, NOW, 72 * HOUR)
    assert certificate.claim == DEVICE.claim
    assert (certificate.not_before, certificate.not_after) == (NOW, NOW + 72 * HOUR)
    accept_certificate(DEVICE.claim, certificate, A.key.fingerprint, NOW + 1)


def test_a_request_for_a_key_the_asker_does_not_hold_is_refused() -> None:
    # The server swaps in its own key, keeping the device's signature: it does not verify.
    server_key = A.device(201).claim.device_key
    swapped = dataclasses.replace(REQUEST, claim=dataclasses.replace(DEVICE.claim, device_key=server_key))
    assert swapped.code != REQUEST.code
    with pytest.raises(IdentityError, match="not signed by the key it names") as refused:
        approve(A.key, swapped, A.name, NOW, HOUR)
    assert refused.value.problem is Problem.BAD_SIGNATURE


def test_an_officer_does_not_certify_for_another_delegation() -> None:
    stranger = B.device(301)
    with pytest.raises(IdentityError, match="this key signs for 'Delegation A'") as refused:
        approve(A.key, make_request(stranger.claim, stranger.sign), A.name, NOW, HOUR)
    assert refused.value.problem is Problem.FOREIGN_DELEGATION


@pytest.mark.parametrize("valid_for", [0, -1, MAX_VALIDITY + 1])
def test_a_certificate_is_valid_for_a_positive_time_up_to_thirty_days(valid_for: int) -> None:
    with pytest.raises(ValueError, match="at most 30 days"):
        approve(A.key, REQUEST, A.name, NOW, valid_for)


def test_the_device_refuses_a_certificate_from_another_delegations_key() -> None:
    certificate = issue(B.key, DEVICE.claim, NOW - HOUR, NOW + HOUR)
    with pytest.raises(IdentityError, match="not by this device's delegation") as refused:
        accept_certificate(DEVICE.claim, certificate, A.key.fingerprint, NOW)
    assert refused.value.problem is Problem.NOT_OWN_DELEGATION


def test_the_device_refuses_a_certificate_for_another_key() -> None:
    other = A.device(201, Role.PRINCIPAL, ("Amina Diallo",))
    with pytest.raises(IdentityError, match="for another key") as refused:
        accept_certificate(DEVICE.claim, A.certify(other), A.key.fingerprint, NOW)
    assert refused.value.problem is Problem.KEY_MISMATCH


def test_the_device_refuses_a_certificate_for_another_role_or_people() -> None:
    claim = dataclasses.replace(DEVICE.claim, role=Role.HOST)
    certificate = issue(A.key, claim, NOW - HOUR, NOW + HOUR)
    with pytest.raises(IdentityError, match="the certificate says") as refused:
        accept_certificate(DEVICE.claim, certificate, A.key.fingerprint, NOW)
    assert refused.value.problem is Problem.ROSTER_MISMATCH


@pytest.mark.parametrize(
    ("now", "summit", "problem"),
    [
        (NOW + 2 * HOUR, SUMMIT, Problem.EXPIRED),
        (NOW, "0000111122223333", Problem.WRONG_SUMMIT),
    ],
)
def test_the_device_refuses_an_expired_or_other_summit_certificate(
    now: float, summit: str, problem: Problem
) -> None:
    claim = dataclasses.replace(DEVICE.claim, summit_id=summit)
    with pytest.raises(IdentityError) as refused:
        accept_certificate(
            DEVICE.claim, A.certify(dataclasses.replace(DEVICE, claim=claim)), A.key.fingerprint, now
        )
    assert refused.value.problem is problem


def test_the_device_refuses_a_forged_certificate() -> None:
    impostor = issue(DelegationKey.generate(), DEVICE.claim, NOW - HOUR, NOW + HOUR)
    with pytest.raises(IdentityError) as refused:
        accept_certificate(
            DEVICE.claim, dataclasses.replace(impostor, issuer=A.key.public_key), A.key.fingerprint, NOW
        )
    assert refused.value.problem is Problem.BAD_SIGNATURE


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_changing_any_byte_of_a_request_fails_it(data: st.DataObject) -> None:
    raw = with_a_byte_changed(data, REQUEST.to_bytes())
    with pytest.raises(IdentityError):
        verify_request(EnrollmentRequest.from_bytes(raw))
