"""The summit model: summits, delegations, roles and invitations, as plain data.

A summit is one meeting (title, scheduled start, duration). Each delegation is one party, with its
working language. An invitation admits one device, for one delegation, in one role; it becomes a
signed, expiring token in an invite link (`invitations.py`).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime

from parley.summit.course import Admission, AtEnd


class Role(enum.Enum):
    """What a device may do. Interpreters arrive with their own feature."""

    HOST = "host"  # runs the clock and the phases, admits and removes
    PRINCIPAL = "principal"  # a delegation's head
    DELEGATE = "delegate"
    OBSERVER = "observer"
    PRESS = "press"  # sees and hears the floor during the opening only; never publishes


@dataclass(frozen=True)
class Delegation:
    delegation_id: str
    summit_id: str
    name: str
    working_language: str


@dataclass(frozen=True)
class Summit:
    summit_id: str
    title: str
    scheduled_start: datetime
    duration_minutes: int
    channel_id: int  # the DAVE group (u64) and the Janus room of the summit's call
    delegations: tuple[Delegation, ...] = ()
    admission: Admission = Admission.HOST
    at_end: AtEnd = AtEnd.HARD_STOP

    def delegation(self, delegation_id: str) -> Delegation | None:
        return next((d for d in self.delegations if d.delegation_id == delegation_id), None)


@dataclass(frozen=True)
class Invitation:
    invitation_id: str
    summit_id: str
    delegation_id: str
    role: Role
    expires_at: datetime
    revoked: bool = False
