"""What an organiser does: create summits and invite devices to them. Used by the HTTP API and the CLI."""

from __future__ import annotations

from collections.abc import Sequence
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

    def invite_all(
        self, summit: Summit, invites: Sequence[tuple[str, Role]], valid_for: timedelta
    ) -> list[str]:
        """A link per (delegation name, role), in order; ValueError names an unknown delegation."""
        by_name = {d.name: d for d in summit.delegations}
        links = []
        for name, role in invites:
            if name not in by_name:
                raise ValueError(f"no delegation named {name!r} in this summit")
            links.append(self.invite(summit, by_name[name].delegation_id, role, valid_for)[1])
        return links

    def link(self, summit_id: str, token: str) -> str:
        """The token rides in the fragment: browsers never send it in a request line or a log."""
        return f"{self.base_url}/join/{summit_id}#{token}"
