"""A delegation key's fingerprint: what one security officer reads to another over a phone line.

30 decimal digits in six groups of five (`12345 67890 ...`), like the group code every device
already shows: about 20 seconds to read aloud and easy to compare on paper. The digits are
SHA-256(`"parley delegation key v1" || 0x00 || the 32-byte Ed25519 public key`) read as a
big-endian integer, modulo 10^30, zero-padded (the full hash is reduced, so no digit is biased).

Why 30 digits (log2(10^30) = 99.7 bits) is enough: a fingerprint is pinned for one delegation
of one summit, after its officer made the key. To impersonate that delegation, an attacker must
make a key of its own whose fingerprint equals the pinned one: a second preimage, about 2^99.7
key generations and hashes, far beyond anyone's reach for the life of a summit. A collision
(two keys of the attacker's with one fingerprint, ~2^50) gains nothing: both keys are the
attacker's, and neither matches a pin it does not choose.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

FINGERPRINT_DIGITS = 30
GROUP = 5
_LABEL = b"parley delegation key v1\x00"
PUBLIC_KEY_SIZE = 32  # an Ed25519 public key


def digits_of(data: bytes, count: int) -> str:
    """`count` decimal digits of a hash: the whole hash as a big-endian integer, modulo 10^count
    (a 256-bit hash reduced to at most 30 digits leaves no digit measurably biased)."""
    return str(int.from_bytes(data, "big") % 10**count).zfill(count)


def in_groups(digits: str) -> str:
    """'1234567890' -> '12345 67890': how people read codes aloud."""
    return " ".join(digits[i : i + GROUP] for i in range(0, len(digits), GROUP))


@dataclass(frozen=True)
class Fingerprint:
    digits: str  # exactly FINGERPRINT_DIGITS decimal digits, no spaces

    def __post_init__(self) -> None:
        if len(self.digits) != FINGERPRINT_DIGITS or not (self.digits.isascii() and self.digits.isdigit()):
            raise ValueError(f"a fingerprint is {FINGERPRINT_DIGITS} digits")

    def __str__(self) -> str:
        return in_groups(self.digits)

    @classmethod
    def of(cls, public_key: bytes) -> Fingerprint:
        """The fingerprint of a delegation's Ed25519 public key (its 32 raw bytes)."""
        if len(public_key) != PUBLIC_KEY_SIZE:
            raise ValueError("a delegation key is a 32-byte Ed25519 public key")
        return cls(digits_of(hashlib.sha256(_LABEL + public_key).digest(), FINGERPRINT_DIGITS))

    @classmethod
    def parse(cls, text: str) -> Fingerprint:
        """A fingerprint as a person typed it: the digits, with any spaces or hyphens between."""
        digits = "".join(c for c in text if c not in " -\t")
        if len(digits) != FINGERPRINT_DIGITS or not (digits.isascii() and digits.isdigit()):
            raise ValueError(
                f"a fingerprint is {FINGERPRINT_DIGITS} digits (spaces and hyphens between them are fine)"
            )
        return cls(digits)
