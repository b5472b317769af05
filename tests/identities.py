"""Delegation-certified identities for tests: delegations with real Ed25519 keys, devices with real
DAVE signature keys (dave.py, signed through parley.sdk.identity as the SDK signs), their claims,
certificates, pins and roster entries. Nothing here is faked: only the clock is fixed."""

from __future__ import annotations

from dataclasses import dataclass, field

import dave
from hypothesis import strategies as st

from parley.identity.certificate import DeviceCertificate, issue
from parley.identity.claim import DeviceClaim
from parley.identity.delegation_key import DelegationKey
from parley.identity.epoch_check import RosterEntry
from parley.identity.pins import Pins, sign_pins, verify_pins
from parley.protocol.vocabulary import Role
from parley.sdk.identity import KEY_VERSION, public_key, sign

SUMMIT = "5e1f0a2b3c4d5e6f"
NOW = 1_800_000_000  # Unix seconds: the tests' fixed "now"
HOUR = 3600


@dataclass
class Device:
    key: dave.SignatureKeyPair
    claim: DeviceClaim

    @property
    def public(self) -> bytes:
        return self.claim.device_key

    @property
    def user_id(self) -> int:
        return self.claim.user_id

    def sign(self, message: bytes) -> bytes:
        return sign(self.key, message)

    def roster_entry(self) -> RosterEntry:
        c = self.claim
        return RosterEntry(c.delegation_id, c.delegation, c.role, c.people, c.language)


@dataclass
class Delegation:
    name: str
    delegation_id: str
    key: DelegationKey = field(default_factory=DelegationKey.generate)

    def device(
        self,
        user_id: int,
        role: Role = Role.DELEGATE,
        people: tuple[str, ...] = ("Ann Example",),
        language: str | None = None,
        summit_id: str = SUMMIT,
    ) -> Device:
        key = dave.SignatureKeyPair.generate(KEY_VERSION)
        claim = DeviceClaim(
            summit_id, self.delegation_id, self.name, role, people, language, public_key(key), user_id
        )
        return Device(key, claim)

    def certify(
        self, device: Device, not_before: int = NOW - HOUR, not_after: int = NOW + HOUR
    ) -> DeviceCertificate:
        return issue(self.key, device.claim, not_before, not_after)


def pins_of(own: Delegation, *others: Delegation, sequence: int = 1) -> Pins:
    """The pins `own`'s officer signs for the summit, as one of its devices trusts them."""
    pinned = {d.name: d.key.fingerprint for d in (own, *others)}
    return verify_pins(sign_pins(own.key, SUMMIT, sequence, pinned), own.key.fingerprint, SUMMIT)


def with_a_byte_changed(data: st.DataObject, document: bytes) -> bytes:
    """The document with one byte, anywhere, changed to any other value (drawn by hypothesis)."""
    raw = bytearray(document)
    at = data.draw(st.integers(0, len(raw) - 1), label="byte")
    raw[at] ^= data.draw(st.integers(1, 255), label="xor")
    return bytes(raw)
