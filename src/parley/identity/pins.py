"""Pins: which delegation key speaks for which delegation of a summit, as a device's own delegation
tells it.

The officers of a summit's delegations read each other their fingerprints over a channel they
trust (a phone call, a meeting); each officer then signs a pin set for the summit with their own
delegation key, and their devices take it. A device trusts a pin set only if its own
delegation's key signed it, and it learns that key's fingerprint from its link or its officer,
never from the server alone: a server that hands a device another pin set, or changes one the
organiser created the summit with, is refused (`Problem.NOT_OWN_DELEGATION`). Body, signed with
Ed25519 over `"parley pins v1" || 0x00 || body`:

    u8     version = 1
    text   summit_id
    opaque issuer          the signing delegation's Ed25519 public key (32 bytes)
    u64    sequence        1, 2, ...: a device never goes back to a lower one
    u8 n,  (text delegation, text fingerprint)[n]
                           the delegation's name and its 30-digit fingerprint (no spaces),
                           ascending by name, names and fingerprints each distinct; the issuer's
                           own delegation among them
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from parley.identity.delegation_key import DelegationKey, verify_signature
from parley.identity.encoding import Reader, SignedDocument, Writer
from parley.identity.fingerprint import PUBLIC_KEY_SIZE, Fingerprint
from parley.identity.problems import IdentityError, Problem

LABEL = b"parley pins v1\x00"
MAX_DELEGATIONS = 200  # the UN General Assembly has 193 members


@dataclass(frozen=True)
class PinSet(SignedDocument):
    """A pin set as received: parsed, not yet trusted (`verify_pins` makes `Pins` of it)."""

    KIND = "parley-pins"

    summit_id: str
    issuer: bytes
    sequence: int
    pins: tuple[tuple[str, Fingerprint], ...]  # ascending by delegation name
    signature: bytes

    def __post_init__(self) -> None:
        if len(self.issuer) != PUBLIC_KEY_SIZE:
            raise ValueError("the issuer is a 32-byte Ed25519 public key")
        if not 1 <= self.sequence < 1 << 64:
            raise ValueError("a sequence number starts at 1")
        names = [name for name, _ in self.pins]
        if not 1 <= len(names) <= MAX_DELEGATIONS or names != sorted(set(names)):
            raise ValueError(f"a pin set names 1 to {MAX_DELEGATIONS} delegations, ascending, each once")
        if len({fingerprint for _, fingerprint in self.pins}) != len(self.pins):
            raise ValueError("one key pinned for two delegations")
        self.check_signature_size()

    def body(self) -> bytes:
        return _body(self.summit_id, self.issuer, self.sequence, self.pins)

    @classmethod
    def read_fields(cls, reader: Reader, signature: bytes) -> PinSet:
        summit_id, issuer, sequence = reader.text("summit"), reader.opaque("issuer"), reader.u64("sequence")
        pins = tuple(
            (reader.text("delegation"), Fingerprint(reader.text("fingerprint")))
            for _ in range(reader.u8("pins"))
        )
        return cls(summit_id, issuer, sequence, pins, signature)


def _body(summit_id: str, issuer: bytes, sequence: int, pins: tuple[tuple[str, Fingerprint], ...]) -> bytes:
    writer = Writer().u8(PinSet.VERSION).text(summit_id).opaque(issuer).u64(sequence).u8(len(pins))
    for name, fingerprint in pins:
        writer.text(name).text(fingerprint.digits)
    return writer.bytes()


def sign_pins(key: DelegationKey, summit_id: str, sequence: int, pins: Mapping[str, Fingerprint]) -> PinSet:
    """An officer's pin set for a summit: every delegation's fingerprint, their own included."""
    if key.fingerprint not in pins.values():
        raise ValueError("a pin set pins its own delegation's key too")
    ordered = tuple(sorted(pins.items()))
    signature = key.sign(LABEL + _body(summit_id, key.public_key, sequence, ordered))
    return PinSet(summit_id, key.public_key, sequence, ordered, signature)


@dataclass(frozen=True)
class Pins:
    """A pin set this device trusts: only `verify_pins` makes one."""

    summit_id: str
    sequence: int
    own_delegation: str  # the delegation whose key signed it: this device's
    by_name: Mapping[str, Fingerprint]

    def delegation_of(self, fingerprint: Fingerprint) -> str | None:
        """The delegation a key is pinned for, if any."""
        return next((name for name, pinned in self.by_name.items() if pinned == fingerprint), None)


def verify_pins(pin_set: PinSet, own: Fingerprint, summit_id: str, held: Pins | None = None) -> Pins:
    """Trust a pin set if its signature verifies, its signer is this device's own delegation key
    (`own`, from the link or the officer), it is for this summit, and it is not older than the
    one held. IdentityError otherwise."""
    if Fingerprint.of(pin_set.issuer) != own:
        raise IdentityError(
            Problem.NOT_OWN_DELEGATION,
            f"the pins are signed by the key {Fingerprint.of(pin_set.issuer)}, not by this device's own"
            f" delegation ({own}): refused",
        )
    if not verify_signature(pin_set.issuer, LABEL + pin_set.body(), pin_set.signature):
        raise IdentityError(Problem.BAD_SIGNATURE, "the pins' signature does not verify: forged or altered")
    if pin_set.summit_id != summit_id:
        raise IdentityError(
            Problem.WRONG_SUMMIT, f"the pins are for summit {pin_set.summit_id}, not this one"
        )
    by_name = dict(pin_set.pins)
    own_delegation = next((name for name, pinned in by_name.items() if pinned == own), None)
    if own_delegation is None:
        raise IdentityError(Problem.MALFORMED, "the pins do not name the delegation that signed them")
    trusted = Pins(summit_id, pin_set.sequence, own_delegation, by_name)
    if held is not None and trusted.sequence <= held.sequence and trusted != held:
        raise IdentityError(
            Problem.STALE, f"pins numbered {trusted.sequence} cannot replace number {held.sequence}"
        )
    return trusted
