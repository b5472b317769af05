"""Enrollment: a device asks its delegation's officer for a certificate, and checks what comes back.

1. The device makes a request: its claim (parley.identity.claim: summit, delegation, role, people,
   language, its DAVE signature key and user id, as its `ready` told them), signed with that very
   key (ECDSA P-256 SHA-256, `r || s`, over `"parley enrollment request v1" || 0x00 || body`), so
   no one can ask for a certificate for a key they do not hold. It shows the request's code (20
   digits) and its text (`parley-enrollment:<base64url>`, for copying or a QR code).
2. The request reaches the officer, through the server or by hand. The officer compares the code
   their console shows with the one on the device's screen (a server that swapped the request for
   one with its own key would have to find a key giving the same 20 digits, about 2^66 tries,
   while the officer waits), reads the claim, and approves: `approve` signs a certificate.
3. The certificate reaches the device, again through the server, which cannot alter it. The
   device takes it only if it certifies exactly its own claim, is signed by its own delegation's
   key (the fingerprint from its link or officer) and is valid now: `accept_certificate`.

Body of a request:

    u8     version = 1
    ...    claim           parley.identity.claim.DeviceClaim
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass

from parley.identity.certificate import DeviceCertificate, issue, verify_certificate
from parley.identity.claim import DeviceClaim
from parley.identity.delegation_key import DelegationKey
from parley.identity.encoding import Reader, SignedDocument, Writer
from parley.identity.fingerprint import Fingerprint, digits_of, in_groups
from parley.identity.problems import IdentityError, Problem
from parley.identity.revocation import RevocationBook
from parley.protocol.fields import verify_key_proof

LABEL = b"parley enrollment request v1\x00"
CODE_DIGITS = 20  # log2(10^20) = 66 bits: a second preimage is out of reach while an officer waits
MAX_VALIDITY = 30 * 24 * 3600  # s: a certificate serves one summit, not a career

DeviceSigner = Callable[
    [bytes], bytes
]  # the device's P-256 key: message -> r || s (parley.sdk.identity.sign)


@dataclass(frozen=True)
class EnrollmentRequest(SignedDocument):
    KIND = "parley-enrollment"

    claim: DeviceClaim
    signature: bytes

    def __post_init__(self) -> None:
        self.check_signature_size()

    def body(self) -> bytes:
        return _body(self.claim)

    @classmethod
    def read_fields(cls, reader: Reader, signature: bytes) -> EnrollmentRequest:
        return cls(DeviceClaim.read(reader), signature)

    @property
    def code(self) -> str:
        """What the device shows and the officer compares: 20 digits of the request's hash."""
        return in_groups(digits_of(hashlib.sha256(LABEL + self.body()).digest(), CODE_DIGITS))


def _body(claim: DeviceClaim) -> bytes:
    return claim.write(Writer().u8(EnrollmentRequest.VERSION)).bytes()


def make_request(claim: DeviceClaim, sign: DeviceSigner) -> EnrollmentRequest:
    """The device's request, signed by the key it claims."""
    return EnrollmentRequest(claim, sign(LABEL + _body(claim)))


def verify_request(request: EnrollmentRequest) -> None:
    """Whether the request is signed by the key it asks to certify: IdentityError if not."""
    if not verify_key_proof(request.claim.device_key, LABEL + request.body(), request.signature):
        raise IdentityError(
            Problem.BAD_SIGNATURE,
            "the request is not signed by the key it names: altered, or not that device's",
        )


def approve(
    key: DelegationKey, request: EnrollmentRequest, delegation: str, now: int, valid_for: int
) -> DeviceCertificate:
    """The officer's approval: a certificate for the request's claim, valid from `now` for
    `valid_for` seconds. Refused if the request is not the device's own, or names another
    delegation than the one the officer signs for."""
    verify_request(request)
    if request.claim.delegation != delegation:
        raise IdentityError(
            Problem.FOREIGN_DELEGATION,
            f"the request is for {request.claim.delegation!r}; this key signs for {delegation!r}",
        )
    if not 0 < valid_for <= MAX_VALIDITY:
        raise ValueError(f"a certificate is valid for at most {MAX_VALIDITY // 86400} days")
    return issue(key, request.claim, now, now + valid_for)


def accept_certificate(
    claim: DeviceClaim, certificate: DeviceCertificate, own: Fingerprint, now: float
) -> None:
    """The device's check of the certificate it is handed: exactly its own claim, signed by its
    own delegation's key, for this summit, valid now. IdentityError naming what fails."""
    if certificate.issuer_fingerprint != own:
        raise IdentityError(
            Problem.NOT_OWN_DELEGATION,
            f"the certificate is signed by the key {certificate.issuer_fingerprint}, not by this"
            f" device's delegation ({own})",
        )
    verify_certificate(certificate, claim.summit_id, now, RevocationBook(claim.summit_id))
    if certificate.claim.device_key != claim.device_key:
        raise IdentityError(Problem.KEY_MISMATCH, "the certificate is for another key than this device's")
    if certificate.claim != claim:
        raise IdentityError(
            Problem.ROSTER_MISMATCH,
            f"the certificate says {certificate.claim.describe()}, not {claim.describe()}",
        )
