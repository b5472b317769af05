"""A certified device's own certificate: kept beside its key file, taken again only while it still
certifies exactly this device, asked for otherwise; and the officer console that answers.
Real Ed25519 and DAVE keys (tests/identities.py), a fixed clock, no server."""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path

import pytest
from identities import HOUR, NOW, SUMMIT, Delegation

from parley.identity.enrollment import make_request
from parley.identity.fingerprint import Fingerprint
from parley.identity.pins import sign_pins
from parley.identity.problems import IdentityError, Problem
from parley.protocol.vocabulary import Role
from parley.sdk.client import InviteLink
from parley.sdk.enrollment import CertificateFile, Enrollment
from parley.sdk.officer import OfficerConsole, Waiting

A = Delegation("Delegation A", "a1a1a1a1a1a1a1a1")
B = Delegation("Delegation B", "b2b2b2b2b2b2b2b2")
ME = A.device(1)


def test_a_device_without_a_certificate_asks_for_one_and_takes_only_its_own_delegations() -> None:
    enrollment = Enrollment(ME.claim, A.key.fingerprint, ME.sign, None, NOW)
    assert enrollment.request is not None and enrollment.code == enrollment.request.code
    with pytest.raises(IdentityError) as refused:
        enrollment.answer(B.certify(ME), NOW)
    assert refused.value.problem is Problem.NOT_OWN_DELEGATION and enrollment.certificate is None
    assert enrollment.answer(A.certify(ME), NOW) and enrollment.code is None


def test_a_certificate_for_another_role_or_key_or_an_expired_one_is_refused_with_its_reason() -> None:
    enrollment = Enrollment(ME.claim, A.key.fingerprint, ME.sign, None, NOW)
    host = dataclasses.replace(ME, claim=dataclasses.replace(ME.claim, role=Role.HOST))
    cases = [
        (A.certify(host), Problem.ROSTER_MISMATCH),
        (A.certify(A.device(1)), Problem.KEY_MISMATCH),
        (A.certify(ME, not_before=NOW - 2 * HOUR, not_after=NOW - HOUR), Problem.EXPIRED),
    ]
    for certificate, problem in cases:
        with pytest.raises(IdentityError) as refused:
            enrollment.answer(certificate, NOW)
        assert refused.value.problem is problem
    assert enrollment.certificate is None


def test_a_kept_certificate_is_taken_again_while_valid_and_replaced_by_a_request_after(
    tmp_path: Path,
) -> None:
    key_file = tmp_path / "device.jwk"
    kept = CertificateFile(key_file)
    certificate = A.certify(ME)
    kept.save(SUMMIT, certificate)
    assert kept.path.name == "device.jwk.certificates.json" and os.stat(kept.path).st_mode & 0o777 == 0o600
    assert CertificateFile(key_file).load(SUMMIT) == certificate and kept.load("other") is None
    again = Enrollment(ME.claim, A.key.fingerprint, ME.sign, kept.load(SUMMIT), NOW)
    assert again.certificate == certificate and again.request is None
    later = Enrollment(ME.claim, A.key.fingerprint, ME.sign, kept.load(SUMMIT), NOW + 2 * HOUR)
    assert later.certificate is None and later.request is not None
    assert later.refused is not None and later.refused.problem is Problem.EXPIRED


def test_a_damaged_certificate_file_reads_as_none_kept(tmp_path: Path) -> None:
    kept = CertificateFile(tmp_path / "device.jwk")
    kept.path.write_text(json.dumps({SUMMIT: "parley-certificate:AAAA"}))
    assert kept.load(SUMMIT) is None
    kept.path.write_text("not json")
    assert kept.load(SUMMIT) is None


def test_an_invite_link_may_name_the_devices_own_delegation_by_its_fingerprint() -> None:
    digits = A.key.fingerprint.digits
    link = InviteLink.parse(f"https://parley.example/join/{SUMMIT}#tok.en&delegation={digits}")
    assert link.token == "tok.en" and link.delegation == A.key.fingerprint
    assert InviteLink.parse(f"https://parley.example/join/{SUMMIT}#tok.en").delegation is None
    with pytest.raises(ValueError, match="fingerprint"):
        InviteLink.parse(f"https://parley.example/join/{SUMMIT}#tok.en&delegation=123")
    with pytest.raises(ValueError, match="fragment"):
        InviteLink.parse(f"https://parley.example/join/{SUMMIT}#tok.en&role=host")


def test_an_officer_console_keeps_sound_requests_of_its_delegation_and_certifies_them() -> None:
    seen: list[Waiting] = []
    console = OfficerConsole(A.key, SUMMIT, A.name, on_request=seen.append)
    request = make_request(ME.claim, ME.sign)
    waiting = console.received(ME.user_id, request)
    assert seen == [waiting] and console.waiting == [waiting]
    forged = dataclasses.replace(request, signature=bytes(64))
    with pytest.raises(IdentityError):
        console.received(ME.user_id, forged)
    other = B.device(3)
    with pytest.raises(ValueError, match="not this console's"):
        console.received(3, make_request(other.claim, other.sign))
    with pytest.raises(ValueError, match="relayed as"):
        console.received(2, request)
    own = console.certify_self(request, NOW)
    assert own.claim == ME.claim and own.issuer == A.key.public_key


def test_an_officer_console_numbers_a_changed_pin_set_after_the_one_held() -> None:
    pinned = {A.name: A.key.fingerprint, B.name: B.key.fingerprint}
    console = OfficerConsole(A.key, SUMMIT, A.name, pins=pinned)
    first = console.sign_pins(None)
    assert first is not None and first.sequence == 1 and dict(first.pins) == pinned
    assert console.sign_pins(first) is None  # published already
    console.pins = {A.name: A.key.fingerprint, B.name: Fingerprint("1" * 30)}
    second = console.sign_pins(sign_pins(A.key, SUMMIT, 4, pinned))
    assert second is not None and second.sequence == 5
