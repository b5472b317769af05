"""What an organiser does: create summits and invite devices to them. Used by the HTTP API and the CLI."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from parley.store.database import Store
from parley.summit.invitations import Claims, InvitationSigner
from parley.summit.model import Invitation, Role, Summit


class Organiser:
    def __init__(self, store: Store, signer: InvitationSigner, base_url: str) -> None:
        self.store = store
        self.signer = signer
        self.base_url = base_url.rstrip("/")

    def invite(
        self, summit: Summit, delegation_id: str, role: Role, valid_for: timedelta
    ) -> tuple[Invitation, str]:
        """A stored invitation and its link."""
        if summit.delegation(delegation_id) is None:
            raise ValueError("no such delegation in this summit")
        expires = datetime.now(UTC) + valid_for
        invitation = self.store.create_invitation(summit.summit_id, delegation_id, role, expires)
        claims = Claims(
            invitation.invitation_id, summit.summit_id, delegation_id, role, int(expires.timestamp())
        )
        return invitation, self.link(summit.summit_id, self.signer.mint(claims))

    def link(self, summit_id: str, token: str) -> str:
        """The token rides in the fragment: browsers never send it in a request line or a log."""
        return f"{self.base_url}/join/{summit_id}#{token}"
