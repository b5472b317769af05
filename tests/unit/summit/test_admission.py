"""The one admission rule, driven with plain records: what a token admits to, or which
InvitationError says why not (its code goes to the device as it is)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from parley.summit.admission import Entry, admit
from parley.summit.invitations import (
    Claims,
    ExpiredToken,
    InvitationError,
    RevokedInvitation,
    UnknownInvitation,
    WrongSummit,
)
from parley.summit.model import Delegation, Invitation, Role, Summit

NOW = 1_800_000_000
EXPIRES = NOW + 3600
NORTH = Delegation("north", "summit-1", "North", "en")
SOUTH = Delegation("south", "summit-1", "South", "ru")
SUMMIT = Summit(
    summit_id="summit-1",
    title="Water rights",
    scheduled_start=datetime(2027, 3, 1, 9, 30, tzinfo=UTC),
    duration_minutes=90,
    channel_id=7,
    delegations=(NORTH, SOUTH),
    languages=("en", "ru"),
)
DELEGATE = Invitation("inv-1", "summit-1", "south", Role.DELEGATE, datetime.fromtimestamp(EXPIRES, UTC))
INTERPRETER = replace(DELEGATE, invitation_id="inv-2", role=Role.INTERPRETER, language="ru", max_devices=2)


def claims_of(invitation: Invitation) -> Claims:
    """The claims the organiser mints into the invitation's link."""
    return Claims(
        invitation.invitation_id,
        invitation.summit_id,
        invitation.delegation_id,
        invitation.role,
        int(invitation.expires_at.timestamp()),
        invitation.language,
    )


def refusal(
    claims: Claims,
    invitation: Invitation | None,
    summit: Summit | None = SUMMIT,
    now: float = NOW,
    summit_id: str = "summit-1",
) -> InvitationError:
    with pytest.raises(InvitationError) as refused:
        admit(claims, summit_id, now, invitation, summit)
    return refused.value


def test_a_good_token_admits_to_its_summit_delegation_role_and_invitation() -> None:
    entry = admit(claims_of(DELEGATE), "summit-1", NOW, DELEGATE, SUMMIT)
    assert entry == Entry(DELEGATE, SUMMIT, SOUTH)
    assert (entry.role, entry.language, entry.invitation.max_devices) == (Role.DELEGATE, None, 1)


def test_an_interpreters_token_admits_into_its_channel() -> None:
    entry = admit(claims_of(INTERPRETER), "summit-1", NOW, INTERPRETER, SUMMIT)
    assert (entry.role, entry.language, entry.invitation.max_devices) == (Role.INTERPRETER, "ru", 2)


def test_a_token_expires_exactly_at_its_expiry_time() -> None:
    assert admit(claims_of(DELEGATE), "summit-1", EXPIRES - 0.001, DELEGATE, SUMMIT).role is Role.DELEGATE
    for now in (EXPIRES, EXPIRES + 86400):
        expired = refusal(claims_of(DELEGATE), DELEGATE, now=now)
        assert isinstance(expired, ExpiredToken) and "expired" in str(expired)
        assert expired.code == "invitation_expired"


def test_a_token_for_another_summit_is_refused_as_wrong_summit() -> None:
    wrong = refusal(claims_of(DELEGATE), DELEGATE, summit_id="summit-2")
    assert isinstance(wrong, WrongSummit) and "another summit" in str(wrong)
    assert wrong.code == "invitation_wrong_summit"


def test_expiry_is_reported_before_the_summit_mismatch_and_the_record() -> None:
    late = refusal(claims_of(DELEGATE), None, None, now=EXPIRES, summit_id="summit-2")
    assert isinstance(late, ExpiredToken)


def test_an_invitation_not_on_record_is_unknown() -> None:
    unknown = refusal(claims_of(DELEGATE), None)
    assert isinstance(unknown, UnknownInvitation) and unknown.code == "invitation_unknown"
    assert str(unknown) == "this invitation does not exist (any more)"


def test_a_revoked_invitation_is_withdrawn_even_if_its_summit_is_gone() -> None:
    revoked = replace(DELEGATE, revoked=True)
    for summit in (SUMMIT, None):
        withdrawn = refusal(claims_of(revoked), revoked, summit)
        assert isinstance(withdrawn, RevokedInvitation) and withdrawn.code == "invitation_revoked"
        assert str(withdrawn) == "this invitation was withdrawn"


def test_a_removed_invitation_still_admits_its_device_to_wait_for_the_host() -> None:
    removed = replace(DELEGATE, removed=True)
    assert admit(claims_of(removed), "summit-1", NOW, removed, SUMMIT).invitation.removed


def test_a_summit_or_delegation_no_longer_on_record_admits_no_one() -> None:
    without_south = replace(SUMMIT, delegations=(NORTH,))
    for summit in (None, without_south, replace(SUMMIT, summit_id="summit-2")):
        gone = refusal(claims_of(DELEGATE), DELEGATE, summit)
        assert isinstance(gone, UnknownInvitation) and "no longer exists" in str(gone)


@pytest.mark.parametrize(
    ("invitation", "language"),
    [(DELEGATE, "ru"), (DELEGATE, "de"), (INTERPRETER, "de"), (INTERPRETER, None)],
)
def test_a_language_that_does_not_fit_the_role_admits_no_one(
    invitation: Invitation, language: str | None
) -> None:
    claims = replace(claims_of(invitation), language=language)
    misfit = refusal(claims, invitation)
    assert isinstance(misfit, UnknownInvitation) and "language channels" in str(misfit)


@pytest.mark.parametrize(
    "record",
    [
        replace(DELEGATE, role=Role.HOST),
        replace(DELEGATE, delegation_id="north"),
        replace(DELEGATE, summit_id="summit-2"),
        replace(INTERPRETER, invitation_id="inv-1", language="en"),
    ],
)
def test_a_token_that_does_not_say_what_its_invitation_on_record_says_admits_no_one(
    record: Invitation,
) -> None:
    claims = claims_of(DELEGATE if record.language is None else replace(INTERPRETER, invitation_id="inv-1"))
    mismatch = refusal(claims, record)
    assert isinstance(mismatch, UnknownInvitation) and "on record" in str(mismatch)
