"""Device certificates: one canonical encoding that round-trips through bytes and text, and a
verification that refuses a forged, altered, other-summit, not yet valid, expired or revoked one.
Real keys: the delegation's Ed25519, the device's DAVE key from dave.py."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from identities import HOUR, NOW, SUMMIT, Delegation, with_a_byte_changed

from parley.identity.certificate import DeviceCertificate, issue, verify_certificate
from parley.identity.claim import DeviceClaim
from parley.identity.delegation_key import DelegationKey
from parley.identity.encoding import Writer
from parley.identity.problems import IdentityError, Problem
from parley.identity.revocation import RevocationBook, sign_revocations
from parley.protocol.vocabulary import Role

A = Delegation("Delegation A", "a1a1a1a1a1a1a1a1")
DEVICE = A.device(101, Role.INTERPRETER, ("Olga Ivanova", "Ли Мин"), "ru")
CERTIFICATE = A.certify(DEVICE)


def verify(certificate: DeviceCertificate, now: float = NOW, book: RevocationBook | None = None) -> None:
    verify_certificate(certificate, SUMMIT, now, book or RevocationBook(SUMMIT))


def test_a_certificate_round_trips_through_bytes_and_text_and_verifies() -> None:
    assert DeviceCertificate.from_bytes(CERTIFICATE.to_bytes()) == CERTIFICATE
    text = CERTIFICATE.to_text()
    assert text.startswith("parley-certificate:")
    assert DeviceCertificate.from_text(text) == CERTIFICATE
    # Wrapped by a mail client or a terminal: the same certificate.
    assert (
        DeviceCertificate.from_text("\n".join(text[i : i + 64] for i in range(0, len(text), 64)))
        == CERTIFICATE
    )
    verify(CERTIFICATE)
    assert CERTIFICATE.issuer_fingerprint == A.key.fingerprint


def test_the_encoding_is_the_documented_one_field_by_field() -> None:
    c = CERTIFICATE.claim
    expected = (
        Writer()
        .u8(1)
        .text(SUMMIT)
        .text(A.delegation_id)
        .text(A.name)
        .text("interpreter")
        .u8(2)
        .text("Olga Ivanova")
        .text("Ли Мин")
        .text("ru")
        .opaque(c.device_key)
        .u64(101)
        .u64(CERTIFICATE.not_before)
        .u64(CERTIFICATE.not_after)
        .opaque(CERTIFICATE.serial)
        .opaque(A.key.public_key)
        .bytes()
    )
    assert CERTIFICATE.body() == expected
    assert CERTIFICATE.to_bytes() == expected + CERTIFICATE.signature


def test_two_certificates_of_one_claim_differ_by_serial() -> None:
    again = A.certify(DEVICE)
    assert again.claim == CERTIFICATE.claim and again.serial != CERTIFICATE.serial


def test_a_certificate_signed_by_another_key_in_its_issuers_name_is_forged() -> None:
    impostor = issue(DelegationKey.generate(), DEVICE.claim, NOW - HOUR, NOW + HOUR)
    forged = dataclasses.replace(impostor, issuer=A.key.public_key)
    with pytest.raises(IdentityError, match="forged or altered") as refused:
        verify(forged)
    assert refused.value.problem is Problem.BAD_SIGNATURE


def test_a_certificate_whose_claim_was_changed_after_signing_is_refused() -> None:
    people = dataclasses.replace(DEVICE.claim, people=("Someone Else",))
    with pytest.raises(IdentityError) as refused:
        verify(dataclasses.replace(CERTIFICATE, claim=people))
    assert refused.value.problem is Problem.BAD_SIGNATURE


def test_a_certificate_for_another_summit_is_refused() -> None:
    other = A.device(102, summit_id="0000111122223333")
    with pytest.raises(IdentityError, match="summit 0000111122223333, not this one") as refused:
        verify(A.certify(other))
    assert refused.value.problem is Problem.WRONG_SUMMIT


@pytest.mark.parametrize(
    ("now", "problem"),
    [
        (NOW - HOUR - 1, Problem.NOT_YET_VALID),
        (NOW + HOUR, Problem.EXPIRED),  # not_after itself is already outside
        (NOW + 10 * HOUR, Problem.EXPIRED),
    ],
)
def test_a_certificate_outside_its_validity_is_refused(now: float, problem: Problem) -> None:
    with pytest.raises(IdentityError) as refused:
        verify(CERTIFICATE, now)
    assert refused.value.problem is problem
    verify(CERTIFICATE, NOW - HOUR)  # not_before itself is inside


def test_a_revoked_certificate_is_refused_and_only_its_issuers_list_revokes_it() -> None:
    book = RevocationBook(SUMMIT)
    other = DelegationKey.generate()
    book.accept(sign_revocations(other, SUMMIT, 1, [CERTIFICATE.serial], NOW))
    verify(CERTIFICATE, book=book)  # another delegation cannot revoke A's devices
    book.accept(sign_revocations(A.key, SUMMIT, 1, [CERTIFICATE.serial], NOW))
    with pytest.raises(IdentityError, match="revoked") as refused:
        verify(CERTIFICATE, book=book)
    assert refused.value.problem is Problem.REVOKED


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_changing_any_byte_of_a_certificate_fails_it(data: st.DataObject) -> None:
    raw = with_a_byte_changed(data, CERTIFICATE.to_bytes())
    with pytest.raises(IdentityError):
        verify(DeviceCertificate.from_bytes(raw))


@given(st.binary(max_size=600))
def test_random_bytes_are_refused_as_malformed_never_crash(data: bytes) -> None:
    with pytest.raises(IdentityError) as refused:
        DeviceCertificate.from_bytes(data)
    assert refused.value.problem is Problem.MALFORMED


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda b: b + b"\x00", "bytes after its last field"),
        (lambda b: b[:-1], "ends too soon"),
        (lambda b: b"\x02" + b[1:], "parley-certificate that does not parse: not version 1"),
    ],
)
def test_a_body_with_bytes_added_cut_or_another_version_is_malformed(change: object, message: str) -> None:
    assert callable(change)
    with pytest.raises(IdentityError, match=message):
        DeviceCertificate.from_bytes(change(CERTIFICATE.body()) + CERTIFICATE.signature)


def test_a_name_written_otherwise_than_as_shown_is_not_canonical() -> None:
    # "José" decomposed (e + combining acute): the same name on screen, other bytes. Refused, so
    # that one claim has one byte form and one signature.
    shown, typed = b"Olga Ivanova", "Jose\u0301 Ivanov".encode()
    body = CERTIFICATE.body().replace(Writer().opaque(shown).bytes(), Writer().opaque(typed).bytes())
    with pytest.raises(IdentityError, match="NFC"):
        DeviceCertificate.from_bytes(body + CERTIFICATE.signature)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"summit_id": "has space"}, "summit_id is 1 to 64"),
        ({"people": ()}, "1 to 8 people"),
        ({"people": ("a",) * 9}, "1 to 8 people"),
        ({"people": ("\u202eevil",)}, "printable"),
        ({"language": None}, "only an interpreter, names a language"),
        ({"role": Role.DELEGATE}, "only an interpreter, names a language"),
        ({"language": "not a tag"}, "a language is a tag"),
        ({"device_key": b"\x04" + bytes(64)}, "a point on P-256"),
        ({"device_key": b"\x02" + bytes(32)}, "65-byte uncompressed"),
        ({"user_id": 0}, "user id"),
        ({"user_id": 1 << 53}, "user id"),
    ],
)
def test_a_claim_out_of_bounds_cannot_be_made(change: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        dataclasses.replace(DEVICE.claim, **change)  # type: ignore[arg-type]


def test_a_claim_is_described_for_the_officer_in_one_line() -> None:
    assert isinstance(DEVICE.claim, DeviceClaim)
    assert DEVICE.claim.describe() == (
        f"Olga Ivanova, Ли Мин: Delegation A interpreter (ru), user 101, summit {SUMMIT}"
    )
