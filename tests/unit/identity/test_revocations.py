"""Revocation lists: signed by the delegation key, numbered, and a book that only moves forward,
so a server can withhold a new list but never bring back an older one."""

from __future__ import annotations

import dataclasses
import secrets

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from identities import NOW, SUMMIT, Delegation, with_a_byte_changed

from parley.identity.delegation_key import DelegationKey
from parley.identity.problems import IdentityError, Problem
from parley.identity.revocation import RevocationBook, RevocationList, sign_revocations

A = Delegation("Delegation A", "a1a1a1a1a1a1a1a1")
LOST, LEFT = secrets.token_bytes(16), secrets.token_bytes(16)


def test_a_list_round_trips_through_bytes_and_text_and_is_taken() -> None:
    revocations = sign_revocations(A.key, SUMMIT, 1, [LOST, LEFT], NOW)
    assert RevocationList.from_bytes(revocations.to_bytes()) == revocations
    assert RevocationList.from_text(revocations.to_text()) == revocations
    book = RevocationBook(SUMMIT)
    assert book.accept(revocations)
    assert book.is_revoked(A.key.public_key, LOST) and book.is_revoked(A.key.public_key, LEFT)
    assert book.sequence(A.key.public_key) == 1


def test_an_older_list_cannot_replace_a_newer_one() -> None:
    book = RevocationBook(SUMMIT)
    older = sign_revocations(A.key, SUMMIT, 1, [], NOW)
    newer = sign_revocations(A.key, SUMMIT, 2, [LOST], NOW + 60)
    book.accept(newer)
    with pytest.raises(IdentityError, match="numbered 1 cannot replace number 2") as refused:
        book.accept(older)
    assert refused.value.problem is Problem.STALE
    assert book.is_revoked(A.key.public_key, LOST)


def test_the_same_list_again_changes_nothing_and_another_under_its_number_is_refused() -> None:
    book = RevocationBook(SUMMIT)
    revocations = sign_revocations(A.key, SUMMIT, 3, [LOST], NOW)
    book.accept(revocations)
    assert not book.accept(revocations)
    with pytest.raises(IdentityError) as refused:
        book.accept(sign_revocations(A.key, SUMMIT, 3, [], NOW))  # un-revoke under the same number
    assert refused.value.problem is Problem.STALE
    assert book.is_revoked(A.key.public_key, LOST)


def test_each_delegation_keeps_its_own_sequence() -> None:
    book = RevocationBook(SUMMIT)
    other = DelegationKey.generate()
    book.accept(sign_revocations(A.key, SUMMIT, 5, [LOST], NOW))
    assert book.accept(sign_revocations(other, SUMMIT, 1, [LEFT], NOW))
    assert not book.is_revoked(A.key.public_key, LEFT) and not book.is_revoked(other.public_key, LOST)


def test_a_list_for_another_summit_or_not_signed_by_its_issuer_is_refused() -> None:
    book = RevocationBook(SUMMIT)
    with pytest.raises(IdentityError) as refused:
        book.accept(sign_revocations(A.key, "0000111122223333", 1, [LOST], NOW))
    assert refused.value.problem is Problem.WRONG_SUMMIT
    forged = dataclasses.replace(
        sign_revocations(DelegationKey.generate(), SUMMIT, 9, [], NOW), issuer=A.key.public_key
    )
    with pytest.raises(IdentityError) as refused:
        book.accept(forged)
    assert refused.value.problem is Problem.BAD_SIGNATURE
    assert book.sequence(A.key.public_key) == 0


def test_serials_are_kept_ascending_and_once() -> None:
    revocations = sign_revocations(A.key, SUMMIT, 1, [LOST, LEFT, LOST], NOW)
    assert revocations.serials == tuple(sorted({LOST, LEFT}))
    with pytest.raises(ValueError, match="ascending and distinct"):
        dataclasses.replace(revocations, serials=tuple(reversed(revocations.serials)))


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_changing_any_byte_of_a_list_fails_it(data: st.DataObject) -> None:
    raw = with_a_byte_changed(data, sign_revocations(A.key, SUMMIT, 2, [LOST, LEFT], NOW).to_bytes())
    with pytest.raises(IdentityError):
        RevocationBook(SUMMIT).accept(RevocationList.from_bytes(raw))
