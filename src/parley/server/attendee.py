"""A device as the room's policy knows it: who it is and what its invitation lets it do."""

from __future__ import annotations

from dataclasses import dataclass

from parley.protocol.fields import b64url
from parley.protocol.server_ops import DeviceInfo
from parley.summit.model import Delegation, Role


@dataclass(frozen=True)
class Attendee:
    """A device as the policy knows it: who it is and what its invitation lets it do."""

    user_id: int
    delegation: Delegation
    role: Role
    people: tuple[str, ...]
    key: bytes  # its DAVE signature key: the gateway admits only key packages it signed
    link: str  # its invitation's tag (InvitationSigner.link_tag)
    invitation_id: str  # the invitation it identified with
    max_devices: int  # how many devices that invitation may have present at once
    language: str | None = None  # an interpreter's channel

    def info(self, publishing: bool = False) -> DeviceInfo:
        return DeviceInfo(
            user_id=self.user_id,
            delegation_id=self.delegation.delegation_id,
            delegation=self.delegation.name,
            role=self.role,
            people=list(self.people),
            publishing=publishing,
            language=self.language,
            key=b64url(self.key),
            link=self.link,
        )
