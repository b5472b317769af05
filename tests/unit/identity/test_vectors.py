"""Known answers: the bytes of every identity format, made from fixed keys, as
tests/unit/identity/vectors.json holds them for every implementation (the browser's too). A
change to an encoding, a label or the fingerprint shows here first."""

from __future__ import annotations

import json
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from parley.identity.attestation import EpochAttestation
from parley.identity.certificate import LABEL, DeviceCertificate
from parley.identity.claim import DeviceClaim
from parley.identity.delegation_key import DelegationKey
from parley.identity.enrollment import EnrollmentRequest, verify_request
from parley.identity.fingerprint import Fingerprint
from parley.identity.pins import PinSet, sign_pins
from parley.identity.revocation import RevocationList, sign_revocations
from parley.protocol.vocabulary import Role

VECTORS = json.loads((Path(__file__).parent / "vectors.json").read_text())
KEY = DelegationKey(Ed25519PrivateKey.from_private_bytes(bytes.fromhex(VECTORS["delegation_seed"])))
c = VECTORS["claim"]
CLAIM = DeviceClaim(
    c["summit_id"],
    c["delegation_id"],
    c["delegation"],
    Role(c["role"]),
    tuple(c["people"]),
    c["language"],
    bytes.fromhex(VECTORS["device_key"]),
    c["user_id"],
)


def test_the_delegation_key_and_its_fingerprint() -> None:
    assert KEY.public_key.hex() == VECTORS["delegation_public_key"]
    assert str(KEY.fingerprint) == VECTORS["fingerprint"]
    other = bytes.fromhex(VECTORS["other_delegation_public_key"])
    assert str(Fingerprint.of(other)) == VECTORS["other_fingerprint"]


def test_the_certificate_byte_for_byte() -> None:
    v = VECTORS["certificate"]
    serial = bytes.fromhex(v["serial"])
    body = DeviceCertificate(CLAIM, v["not_before"], v["not_after"], serial, KEY.public_key, bytes(64)).body()
    made = DeviceCertificate(
        CLAIM, v["not_before"], v["not_after"], serial, KEY.public_key, KEY.sign(LABEL + body)
    )
    assert made.to_text() == v["text"]
    assert DeviceCertificate.from_text(v["text"]) == made


def test_the_revocation_list_and_pin_set_byte_for_byte() -> None:
    v = VECTORS["revocations"]
    serials = [bytes.fromhex(s) for s in v["serials"]]
    made = sign_revocations(KEY, CLAIM.summit_id, v["sequence"], serials, v["issued_at"])
    assert made.to_text() == v["text"] and RevocationList.from_text(v["text"]) == made
    pinned = {
        "Delegation A": KEY.fingerprint,
        "Delegation B": Fingerprint.parse(VECTORS["other_fingerprint"]),
    }
    pins = sign_pins(KEY, CLAIM.summit_id, VECTORS["pins"]["sequence"], pinned)
    assert pins.to_text() == VECTORS["pins"]["text"] and PinSet.from_text(pins.to_text()) == pins


def test_the_enrollment_request_and_attestation_bodies_and_their_signatures() -> None:
    v = VECTORS["enrollment_request"]
    request = EnrollmentRequest.from_text(v["text"])
    assert request.claim == CLAIM and request.body().hex() == v["body"] and request.code == v["code"]
    verify_request(request)
    a = VECTORS["attestation"]
    attestation = EpochAttestation.from_bytes(bytes.fromhex(a["hex"]))
    assert attestation.body().hex() == a["body"]
    assert (attestation.epoch, attestation.authenticator.hex(), attestation.user_id) == (
        a["epoch"],
        a["authenticator"],
        CLAIM.user_id,
    )
    assert attestation.verify(CLAIM.device_key)
