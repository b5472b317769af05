"""A delegation's revocation list: the serials of its certificates it no longer vouches for.

The officer signs a new list with the delegation key whenever a device is lost or leaves; the
server relays it, and cannot forge one, nor make a device go back to an older one: each list
carries a sequence number, and a `RevocationBook` only ever moves forward. A server can withhold
a new list (as it can withhold anything); it cannot un-revoke. Body, signed by the issuer with
label `"parley revocations v1" || 0x00`:

    u8     version = 1
    text   summit_id
    opaque issuer          the delegation's Ed25519 public key (32 bytes)
    u64    sequence        1, 2, 3, ...: each new list of this delegation for this summit is higher
    u64    issued_at       Unix seconds (for people; ordering is by sequence)
    u16 n, opaque serial[n]  16 bytes each, ascending, no repeats (so the body is canonical)
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from parley.identity.delegation_key import DelegationKey, verify_signature
from parley.identity.encoding import Reader, SignedDocument, Writer
from parley.identity.fingerprint import PUBLIC_KEY_SIZE
from parley.identity.problems import IdentityError, Problem

LABEL = b"parley revocations v1\x00"
SERIAL_SIZE = 16
MAX_SERIALS = 512  # a delegation revokes a handful of devices per summit; this bounds the list


@dataclass(frozen=True)
class RevocationList(SignedDocument):
    KIND = "parley-revocations"

    summit_id: str
    issuer: bytes
    sequence: int
    issued_at: int
    serials: tuple[bytes, ...]
    signature: bytes

    def __post_init__(self) -> None:
        if len(self.issuer) != PUBLIC_KEY_SIZE:
            raise ValueError("the issuer is a 32-byte Ed25519 public key")
        if not 1 <= self.sequence < 1 << 64 or not 0 <= self.issued_at < 1 << 64:
            raise ValueError("a sequence number starts at 1")
        if len(self.serials) > MAX_SERIALS or any(len(s) != SERIAL_SIZE for s in self.serials):
            raise ValueError(f"a revocation list holds at most {MAX_SERIALS} serials of {SERIAL_SIZE} bytes")
        if list(self.serials) != sorted(set(self.serials)):
            raise ValueError("a revocation list's serials are ascending and distinct")
        self.check_signature_size()

    def body(self) -> bytes:
        return _body(self.summit_id, self.issuer, self.sequence, self.issued_at, self.serials)

    @classmethod
    def read_fields(cls, reader: Reader, signature: bytes) -> RevocationList:
        summit_id, issuer = reader.text("summit"), reader.opaque("issuer")
        sequence, issued_at = reader.u64("sequence"), reader.u64("issued at")
        serials = tuple(reader.opaque("serial") for _ in range(reader.u16("serials")))
        return cls(summit_id, issuer, sequence, issued_at, serials, signature)


def _body(summit_id: str, issuer: bytes, sequence: int, issued_at: int, serials: tuple[bytes, ...]) -> bytes:
    writer = Writer().u8(RevocationList.VERSION).text(summit_id).opaque(issuer).u64(sequence).u64(issued_at)
    writer.u16(len(serials))
    for serial in serials:
        writer.opaque(serial)
    return writer.bytes()


def sign_revocations(
    key: DelegationKey, summit_id: str, sequence: int, serials: Iterable[bytes], issued_at: int
) -> RevocationList:
    """The officer's new list: every serial still revoked (lists replace, they do not add up)."""
    ordered = tuple(sorted(set(serials)))
    signature = key.sign(LABEL + _body(summit_id, key.public_key, sequence, issued_at, ordered))
    return RevocationList(summit_id, key.public_key, sequence, issued_at, ordered, signature)


class RevocationBook:
    """The latest revocation list of each delegation key, for one summit. Only moves forward."""

    def __init__(self, summit_id: str) -> None:
        self.summit_id = summit_id
        self._latest: dict[bytes, RevocationList] = {}  # issuer -> its latest list

    def accept(self, revocations: RevocationList) -> bool:
        """Take a list if it is authentic, for this summit, and newer than the one held for its
        issuer; True if it changed anything. IdentityError otherwise, naming why."""
        if not verify_signature(revocations.issuer, LABEL + revocations.body(), revocations.signature):
            raise IdentityError(Problem.BAD_SIGNATURE, "a revocation list whose signature does not verify")
        if revocations.summit_id != self.summit_id:
            raise IdentityError(
                Problem.WRONG_SUMMIT, f"a revocation list for summit {revocations.summit_id}, not this one"
            )
        held = self._latest.get(revocations.issuer)
        if held is not None and revocations.sequence <= held.sequence:
            if revocations == held:
                return False
            raise IdentityError(
                Problem.STALE,
                f"a revocation list numbered {revocations.sequence} cannot replace number {held.sequence}",
            )
        self._latest[revocations.issuer] = revocations
        return True

    def is_revoked(self, issuer: bytes, serial: bytes) -> bool:
        held = self._latest.get(issuer)
        return held is not None and serial in held.serials

    def latest(self) -> list[RevocationList]:
        """Each issuer's latest list (what a device arriving is given)."""
        return list(self._latest.values())

    def sequence(self, issuer: bytes) -> int:
        """The sequence number held for a delegation key (0: none yet); the officer's next is higher."""
        held = self._latest.get(issuer)
        return held.sequence if held else 0
