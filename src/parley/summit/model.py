"""The summit model: summits, delegations, roles and invitations, as plain data.

A summit is one meeting (title, scheduled start, duration). Each delegation is one party, with its
working language. An invitation admits devices, for one delegation, in one role: one device at a
time unless the organiser allowed more; it becomes a signed, expiring token in an invite link
(`invitations.py`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from parley.identity.fingerprint import Fingerprint
from parley.protocol.fields import check_name
from parley.protocol.vocabulary import LANGUAGE_PATTERN as LANGUAGE_PATTERN
from parley.protocol.vocabulary import Role as Role
from parley.summit.course import Admission, AtEnd

DEFAULT_DUCKING = 0.2
# How many devices one invitation may have in a summit at once (lobby and call). A link leaks
# more easily than a device: one device by default, and the organiser says when a link is shared
# (a press pool's, say).
MAX_DEVICES_PER_INVITATION = 100  # about -14 dB: the floor stays audible under the interpretation
MAX_LANGUAGES = 12
LANGUAGE_TAG = re.compile(LANGUAGE_PATTERN)


def check_languages(languages: Sequence[str]) -> tuple[str, ...]:
    """A summit's channels as given, or ValueError saying what is wrong with them."""
    for language in languages:
        if not LANGUAGE_TAG.fullmatch(language):
            raise ValueError(f"{language!r} is not a language tag such as 'en', 'ru' or 'zh-Hans'")
    if len(set(languages)) != len(languages):
        raise ValueError("each language is one channel: name it once")
    if len(languages) > MAX_LANGUAGES:
        raise ValueError(f"a summit has at most {MAX_LANGUAGES} language channels")
    return tuple(languages)


def check_pins(names: Sequence[str], pins: Mapping[str, str]) -> dict[str, str]:
    """The organiser's pins ({delegation name: its key's fingerprint, as typed}) as a summit keeps
    them (30 digits each), or ValueError saying what is wrong: every delegation pinned or none, no
    key pinned twice, and each pinned name one a certificate can carry (a person's name: NFC,
    trimmed, printable, at most 64 characters), so that pins and certificates name it alike."""
    if not pins:
        return {}
    unknown = set(pins) - set(names)
    if unknown:
        raise ValueError(f"no delegation is named {sorted(unknown)[0]!r}")
    if len(pins) != len(names):
        raise ValueError("pin every delegation's key, or none")
    for name in names:
        try:
            shown = check_name(name)
        except ValueError as e:
            raise ValueError(f"delegation {name!r}: {e}") from None
        if shown != name:
            raise ValueError(
                f"delegation {name!r}: a pinned delegation's name is NFC, without surrounding blanks"
            )
    kept = {name: Fingerprint.parse(pin).digits for name, pin in pins.items()}
    if len(set(kept.values())) != len(kept):
        raise ValueError("each delegation has a key of its own: two pins are the same")
    return kept


@dataclass(frozen=True)
class Delegation:
    delegation_id: str
    summit_id: str
    name: str
    working_language: str
    # The fingerprint of its delegation key as the organiser pinned it (30 digits), or None: a
    # summit whose delegations are all pinned requires certified devices (docs/identity.md).
    pin: str | None = None


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
    languages: tuple[str, ...] = ()  # its interpretation channels, one booth each
    ducking: float = DEFAULT_DUCKING  # the floor's level under a channel, 0..1

    @property
    def pins(self) -> dict[str, str]:
        """The organiser's pins, {delegation name: fingerprint}; empty: no certificates required."""
        return {d.name: d.pin for d in self.delegations if d.pin is not None}

    def delegation(self, delegation_id: str) -> Delegation | None:
        return next((d for d in self.delegations if d.delegation_id == delegation_id), None)

    def default_channel(self, delegation: Delegation) -> str | None:
        """What a device hears until it chooses: its delegation's language if the summit
        interprets into it, else the floor (None)."""
        return delegation.working_language if delegation.working_language in self.languages else None


@dataclass(frozen=True)
class Invitation:
    invitation_id: str
    summit_id: str
    delegation_id: str
    role: Role
    expires_at: datetime
    revoked: bool = False
    language: str | None = None  # an interpreter's channel; None for every other role
    max_devices: int = 1  # devices present at once on this invitation (MAX_DEVICES_PER_INVITATION at most)
    # The host removed a device of this link: its next devices wait in the lobby, flagged, until
    # the host admits one again (docs/security.md, "Removal and revocation").
    removed: bool = False
