"""What an organiser does: create summits and invite devices to them. Used by the HTTP API and the CLI.

The organiser keeps its invitations in an `InvitationBook` (the store, `parley.store.database`,
is one): the summit domain says what it needs of storage, and the store depends on the domain,
never the other way round.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import NamedTuple, Protocol

from parley.summit.invitations import Claims, InvitationSigner
from parley.summit.model import MAX_DEVICES_PER_INVITATION, Invitation, Role, Summit


class Seat(NamedTuple):
    """One invitation to make by name: a delegation, a role, an interpreter's language, and how
    many devices its link admits at once."""

    delegation: str
    role: Role
    language: str | None = None
    devices: int = 1


class InvitationBook(Protocol):
    """Where invitations are kept: the organiser records each one before it hands out its link."""

    def create_invitation(
        self,
        summit_id: str,
        delegation_id: str,
        role: Role,
        expires_at: datetime,
        language: str | None = None,
        max_devices: int = 1,
    ) -> Invitation: ...


class Organiser:
    def __init__(self, store: InvitationBook, signer: InvitationSigner, base_url: str) -> None:
        self.store = store
        self.signer = signer
        self.base_url = base_url.rstrip("/")

    def invite(
        self,
        summit: Summit,
        delegation_id: str,
        role: Role,
        valid_for: timedelta,
        language: str | None = None,
        max_devices: int = 1,
    ) -> tuple[Invitation, str]:
        """A stored invitation and its link, admitting up to `max_devices` devices at once. An
        interpreter's names one of the summit's languages (its channel); no other role names one.
        ValueError says what is wrong."""
        if not 1 <= max_devices <= MAX_DEVICES_PER_INVITATION:
            raise ValueError(f"an invitation admits 1 to {MAX_DEVICES_PER_INVITATION} devices at once")
        if summit.delegation(delegation_id) is None:
            raise ValueError("no such delegation in this summit")
        if role is Role.INTERPRETER and language not in summit.languages:
            offered = ", ".join(summit.languages) or "none"
            raise ValueError(f"an interpreter interprets into one of the summit's languages ({offered})")
        if role is not Role.INTERPRETER and language is not None:
            raise ValueError("only an interpreter's invitation names a language")
        expires = datetime.now(UTC) + valid_for
        invitation = self.store.create_invitation(
            summit.summit_id, delegation_id, role, expires, language, max_devices
        )
        claims = Claims(
            invitation.invitation_id,
            summit.summit_id,
            delegation_id,
            role,
            int(expires.timestamp()),
            language,
        )
        return invitation, self.link(summit.summit_id, self.signer.mint(claims))

    def invite_all(self, summit: Summit, invites: Sequence[Seat], valid_for: timedelta) -> list[str]:
        """A link per seat, in order; ValueError names an unknown delegation or a bad language."""
        by_name = {d.name: d for d in summit.delegations}
        links = []
        for seat in invites:
            if seat.delegation not in by_name:
                raise ValueError(f"no delegation named {seat.delegation!r} in this summit")
            delegation_id = by_name[seat.delegation].delegation_id
            invite = self.invite(summit, delegation_id, seat.role, valid_for, seat.language, seat.devices)
            links.append(invite[1])
        return links

    def link(self, summit_id: str, token: str) -> str:
        """The token rides in the fragment: browsers never send it in a request line or a log."""
        return f"{self.base_url}/join/{summit_id}#{token}"
