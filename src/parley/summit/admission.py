"""The one rule of what an invitation token admits: `admit`.

A device's token is checked twice, with the same answer: when the join page asks what a link
admits to (`POST /api/invitations/check`), and when the device identifies on the signalling
socket. Both call `admit` with what they looked up; nothing else decides whether a token is
still good, for which summit, delegation, role and channel.

Sans-IO: the caller verifies the token's MAC (`InvitationSigner.verify`, which yields the claims),
looks up the invitation it names and the summit asked for, and passes them in with `now`. The
answer is an `Entry`, or an `InvitationError` whose code and message go to the device:

* ExpiredToken      - the token is past its expiry
* WrongSummit       - a good token, for another summit than the one asked for
* RevokedInvitation - the organiser or the host withdrew the invitation
* UnknownInvitation - the invitation, its summit or its delegation is not on record (any more),
                      or the token does not say what the invitation on record says (its
                      delegation, role or interpreter's language), or names a language where
                      its role has none
"""

from __future__ import annotations

from dataclasses import dataclass

from parley.summit.invitations import (
    Claims,
    ExpiredToken,
    RevokedInvitation,
    UnknownInvitation,
    WrongSummit,
)
from parley.summit.model import Delegation, Invitation, Role, Summit


@dataclass(frozen=True)
class Entry:
    """What a token admits its device to: a place in this summit's delegation, in a role (an
    interpreter's in one channel), on this invitation (which says how many devices at once)."""

    invitation: Invitation
    summit: Summit
    delegation: Delegation

    @property
    def role(self) -> Role:
        return self.invitation.role

    @property
    def language(self) -> str | None:
        return self.invitation.language


def admit(
    claims: Claims, summit_id: str, now: float, invitation: Invitation | None, summit: Summit | None
) -> Entry:
    """The entry the token's `claims` give to summit `summit_id` at `now`, given the invitation
    they name and the summit, as stored (None: not on record). Raises InvitationError."""
    if now >= claims.expires_at:
        raise ExpiredToken("this invitation has expired; ask the host for a new link")
    if claims.summit_id != summit_id:
        raise WrongSummit("this invitation is for another summit")
    if invitation is None:
        raise UnknownInvitation("this invitation does not exist (any more)")
    if invitation.revoked:
        raise RevokedInvitation("this invitation was withdrawn")
    delegation = summit.delegation(claims.delegation_id) if summit else None
    if summit is None or summit.summit_id != summit_id or delegation is None:
        raise UnknownInvitation("this invitation's summit no longer exists")
    # An interpreter's token names one of the summit's channels; no other role's names any.
    fits = claims.language in summit.languages if claims.role is Role.INTERPRETER else claims.language is None
    if not fits:
        raise UnknownInvitation("this invitation does not match the summit's language channels")
    on_record = (invitation.invitation_id, invitation.summit_id, invitation.delegation_id)
    if on_record != (claims.invitation_id, claims.summit_id, claims.delegation_id) or (
        (invitation.role, invitation.language) != (claims.role, claims.language)
    ):
        raise UnknownInvitation("this invitation does not match the one on record")
    return Entry(invitation, summit, delegation)
