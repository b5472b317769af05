"""A device certificate: a delegation's signed word that a DAVE signature key is one of its devices.

The server relays certificates and cannot make or alter one: the signature is the delegation
key's, and every client checks it against the key pinned for that delegation (parley.identity
.pins). One canonical encoding (parley.identity.encoding), signed with Ed25519 by the issuer over
`"parley device certificate v1" || 0x00 || body`:

    u8     version = 1
    ...    claim           parley.identity.claim.DeviceClaim: summit, delegation (id and name),
                           role, people, language, the device's P-256 key, its DAVE user id
    u64    not_before      Unix seconds: valid from
    u64    not_after       Unix seconds: valid until (excluded)
    opaque serial          16 random bytes: what a revocation list names
    opaque issuer          the delegation's Ed25519 public key (32 bytes); its fingerprint is
                           what the other delegations pin

On the wire and in text: `body || signature` (64 bytes), or `parley-certificate:<base64url>`.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from parley.identity.claim import DeviceClaim
from parley.identity.delegation_key import DelegationKey, verify_signature
from parley.identity.encoding import Reader, SignedDocument, Writer
from parley.identity.fingerprint import PUBLIC_KEY_SIZE, Fingerprint
from parley.identity.problems import IdentityError, Problem
from parley.identity.revocation import SERIAL_SIZE, RevocationBook

LABEL = b"parley device certificate v1\x00"


@dataclass(frozen=True)
class DeviceCertificate(SignedDocument):
    KIND = "parley-certificate"

    claim: DeviceClaim
    not_before: int
    not_after: int
    serial: bytes
    issuer: bytes
    signature: bytes

    def __post_init__(self) -> None:
        if not 0 <= self.not_before < self.not_after < 1 << 64:
            raise ValueError("a certificate's validity ends after it begins")
        if len(self.serial) != SERIAL_SIZE:
            raise ValueError(f"a serial is {SERIAL_SIZE} bytes")
        if len(self.issuer) != PUBLIC_KEY_SIZE:
            raise ValueError("the issuer is a 32-byte Ed25519 public key")
        self.check_signature_size()

    def body(self) -> bytes:
        return _body(self.claim, self.not_before, self.not_after, self.serial, self.issuer)

    @classmethod
    def read_fields(cls, reader: Reader, signature: bytes) -> DeviceCertificate:
        claim = DeviceClaim.read(reader)
        not_before, not_after = reader.u64("not before"), reader.u64("not after")
        return cls(claim, not_before, not_after, reader.opaque("serial"), reader.opaque("issuer"), signature)

    @property
    def issuer_fingerprint(self) -> Fingerprint:
        return Fingerprint.of(self.issuer)

    def describe(self) -> str:
        return f"{self.claim.describe()}, serial {self.serial.hex()}"


def _body(claim: DeviceClaim, not_before: int, not_after: int, serial: bytes, issuer: bytes) -> bytes:
    writer = claim.write(Writer().u8(DeviceCertificate.VERSION))
    return writer.u64(not_before).u64(not_after).opaque(serial).opaque(issuer).bytes()


def issue(key: DelegationKey, claim: DeviceClaim, not_before: int, not_after: int) -> DeviceCertificate:
    """The officer's signature over a device's claim, valid from `not_before` to `not_after`."""
    serial = secrets.token_bytes(SERIAL_SIZE)
    signature = key.sign(LABEL + _body(claim, not_before, not_after, serial, key.public_key))
    return DeviceCertificate(claim, not_before, not_after, serial, key.public_key, signature)


def verify_certificate(
    certificate: DeviceCertificate, summit_id: str, now: float, revocations: RevocationBook
) -> None:
    """Whether a certificate is its issuer's, for this summit, valid at `now` (Unix seconds) and not
    revoked by its issuer's latest list: IdentityError naming the first thing that fails. Which
    delegation the issuer may speak for is the pins' matter (parley.identity.epoch_check)."""
    if not verify_signature(certificate.issuer, LABEL + certificate.body(), certificate.signature):
        raise IdentityError(
            Problem.BAD_SIGNATURE, "the certificate's signature does not verify: forged or altered"
        )
    if certificate.claim.summit_id != summit_id:
        raise IdentityError(
            Problem.WRONG_SUMMIT, f"the certificate is for summit {certificate.claim.summit_id}, not this one"
        )
    if now < certificate.not_before:
        raise IdentityError(Problem.NOT_YET_VALID, "the certificate is not valid yet")
    if now >= certificate.not_after:
        raise IdentityError(Problem.EXPIRED, "the certificate has expired")
    if revocations.is_revoked(certificate.issuer, certificate.serial):
        raise IdentityError(Problem.REVOKED, "the certificate was revoked by its delegation")
