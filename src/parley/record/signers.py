"""A delegation's signer list: the certificates, besides its principals', that may sign for it.

The officer signs it with the delegation key (Ed25519) over `"parley signers v1" || 0x00 || body`:

    u8     version = 1
    text   summit_id
    text   delegation     the delegation's name (NFC, as certificates name it)
    u64    sequence       1, 2, ...: a later list replaces an earlier one
    u8 n, opaque serial[n]   16-byte serials, ascending and distinct (one byte form), 0 to 64
    opaque issuer         the delegation's Ed25519 public key
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from parley.identity.certificate import DeviceCertificate
from parley.identity.delegation_key import DelegationKey, verify_signature
from parley.identity.encoding import Reader, SignedDocument, Writer
from parley.identity.fingerprint import PUBLIC_KEY_SIZE
from parley.identity.problems import IdentityError, Problem
from parley.identity.revocation import SERIAL_SIZE
from parley.protocol.fields import check_name
from parley.protocol.vocabulary import Role

LABEL = b"parley signers v1\x00"
MAX_SIGNERS = 64


@dataclass(frozen=True)
class SignerList(SignedDocument):
    KIND = "parley-signers"

    summit_id: str
    delegation: str
    sequence: int
    serials: tuple[bytes, ...]
    issuer: bytes
    signature: bytes

    def __post_init__(self) -> None:
        if check_name(self.delegation) != self.delegation:
            raise ValueError("the delegation's name must be NFC, without surrounding blanks")
        if not 1 <= self.sequence < 1 << 64:
            raise ValueError("a sequence number starts at 1")
        if len(self.serials) > MAX_SIGNERS or any(len(s) != SERIAL_SIZE for s in self.serials):
            raise ValueError(f"a signer list holds at most {MAX_SIGNERS} serials of {SERIAL_SIZE} bytes")
        if list(self.serials) != sorted(set(self.serials)):
            raise ValueError("a signer list's serials are ascending and distinct")
        if len(self.issuer) != PUBLIC_KEY_SIZE:
            raise ValueError("the issuer is a 32-byte Ed25519 public key")
        self.check_signature_size()

    def body(self) -> bytes:
        return _body(self.summit_id, self.delegation, self.sequence, self.serials, self.issuer)

    @classmethod
    def read_fields(cls, reader: Reader, signature: bytes) -> SignerList:
        summit_id, delegation, sequence = (
            reader.text("summit"),
            reader.text("delegation"),
            reader.u64("sequence"),
        )
        serials = tuple(reader.opaque("serial") for _ in range(reader.u8("serials")))
        return cls(summit_id, delegation, sequence, serials, reader.opaque("issuer"), signature)


def _body(summit_id: str, delegation: str, sequence: int, serials: tuple[bytes, ...], issuer: bytes) -> bytes:
    writer = Writer().u8(SignerList.VERSION).text(summit_id).text(delegation).u64(sequence).u8(len(serials))
    for serial in serials:
        writer.opaque(serial)
    return writer.opaque(issuer).bytes()


def sign_signers(
    key: DelegationKey, summit_id: str, delegation: str, sequence: int, serials: Iterable[bytes]
) -> SignerList:
    """The officer's list of who may sign for the delegation, besides its principals."""
    ordered = tuple(sorted(set(serials)))
    signature = key.sign(LABEL + _body(summit_id, delegation, sequence, ordered, key.public_key))
    return SignerList(summit_id, delegation, sequence, ordered, key.public_key, signature)


def verify_signers(signers: SignerList, issuer_expected: bytes) -> None:
    """Whether the list is signed by the key pinned for its delegation: IdentityError otherwise.
    (Which summit it is for is the caller's check, as for a certificate.)"""
    if signers.issuer != issuer_expected:
        raise IdentityError(Problem.UNPINNED, f"a signer list for {signers.delegation} signed by another key")
    if not verify_signature(signers.issuer, LABEL + signers.body(), signers.signature):
        raise IdentityError(Problem.BAD_SIGNATURE, "a signer list whose signature does not verify")


def is_signer(certificate: DeviceCertificate, lists: Mapping[bytes, SignerList]) -> bool:
    """Whether a (verified) certificate may sign for its delegation: a principal's may; any other
    only if the latest signer list of its issuer (`lists`: issuer -> latest verified list) names
    its serial, for its delegation and summit."""
    if certificate.claim.role is Role.PRINCIPAL:
        return True
    held = lists.get(certificate.issuer)
    return (
        held is not None
        and held.delegation == certificate.claim.delegation
        and held.summit_id == certificate.claim.summit_id
        and certificate.serial in held.serials
    )
