"""Certification: what a certified device concludes from pins, certificates, revocations, the
roster, the key group and attestations. Real Ed25519 delegation keys and real DAVE device keys
(tests/identities.py); the clock is stepped by hand, and no server or socket is involved."""

from __future__ import annotations

from identities import HOUR, NOW, SUMMIT, Delegation, Device

from parley.identity.attestation import ATTESTATION_BOUND, EpochAttestation, attest
from parley.identity.fingerprint import Fingerprint
from parley.identity.pins import sign_pins
from parley.identity.problems import Problem
from parley.identity.revocation import sign_revocations
from parley.protocol.codes import AlarmKind
from parley.sdk.certification import Certification, Epoch
from parley.sdk.membership import Alarm

A = Delegation("Delegation A", "a1a1a1a1a1a1a1a1")
B = Delegation("Delegation B", "b2b2b2b2b2b2b2b2")
ME, ALLY, OTHER = A.device(1), A.device(2), B.device(3)
AUTH, FORK = b"\x11" * 32, b"\x22" * 32
PINNED = {A.name: A.key.fingerprint.digits, B.name: B.key.fingerprint.digits}


def leaves(*devices: Device) -> dict[int, bytes]:
    return {d.user_id: d.public for d in devices}


def attested(device: Device, epoch: int = 5, authenticator: bytes = AUTH) -> EpochAttestation:
    return attest(SUMMIT, epoch, authenticator, device.user_id, device.sign)


def device_of_a(*members: Device) -> Certification:
    """ME, with A's pins, everyone's certificate and roster entry: not yet in a key group."""
    certification = Certification(SUMMIT, ME.user_id, A.key.fingerprint, PINNED)
    certification.pin_set(sign_pins(A.key, SUMMIT, 1, {n: Fingerprint(d) for n, d in PINNED.items()}), NOW)
    for device in members:
        delegation = A if device.claim.delegation == A.name else B
        certification.certificate(delegation.certify(device), NOW)
    certification.roster({d.user_id: d.roster_entry() for d in members}, NOW)
    return certification


def in_epoch_5(*members: Device) -> Certification:
    certification = device_of_a(*members)
    certification.key_group(leaves(*members), 5, AUTH, NOW)
    return certification


def kinds(alarms: list[Alarm]) -> list[tuple[AlarmKind, int]]:
    return [(a.kind, a.user_id) for a in alarms]


def test_an_epoch_of_certified_members_is_sent_in_once_every_other_member_attests_it() -> None:
    certification = in_epoch_5(ME, ALLY, OTHER)
    assert certification.check is not None and certification.check.summary() == "all 3 members certified"
    assert certification.to_attest() == Epoch(5, AUTH) and certification.to_attest() is None
    assert certification.hold(NOW)  # not attested by the others yet: a split would not show
    certification.attestation(attested(ALLY), NOW + 0.1)
    assert certification.hold(NOW + 0.1)
    assert certification.attestation(attested(OTHER), NOW + 0.2) == []
    assert not certification.hold(NOW + 0.2) and certification.alarms == []


def test_without_pins_from_its_own_delegation_a_device_checks_no_one_raises_pins_and_holds() -> None:
    certification = Certification(SUMMIT, ME.user_id, A.key.fingerprint, PINNED)
    alarms = certification.tick(NOW)
    assert kinds(alarms) == [(AlarmKind.PINS, ME.user_id)] and str(A.key.fingerprint) in alarms[0].text
    assert certification.hold(NOW)


def test_a_pin_set_signed_by_another_delegation_is_refused_however_genuine() -> None:
    certification = Certification(SUMMIT, ME.user_id, A.key.fingerprint, PINNED)
    pins = {n: Fingerprint(d) for n, d in PINNED.items()}
    try:
        certification.pin_set(sign_pins(B.key, SUMMIT, 1, pins), NOW)
    except ValueError as e:
        assert getattr(e, "problem", None) is Problem.NOT_OWN_DELEGATION
    else:
        raise AssertionError("B's pin set was trusted by a device of A")
    assert certification.pins is None and certification.hold(NOW)


def test_summit_pins_other_than_the_delegations_raise_an_alarm_naming_them() -> None:
    forged = {**PINNED, B.name: "0" * 30}
    certification = Certification(SUMMIT, ME.user_id, A.key.fingerprint, forged)
    pins = {n: Fingerprint(d) for n, d in PINNED.items()}
    alarms = certification.pin_set(sign_pins(A.key, SUMMIT, 1, pins), NOW)
    assert kinds(alarms) == [(AlarmKind.PINS, ME.user_id)] and "other pins" in alarms[0].text


def test_a_member_without_a_certificate_is_named_in_an_alarm_and_media_is_held() -> None:
    ghost = B.device(66)
    certification = device_of_a(ME, ALLY)
    alarms = certification.key_group(leaves(ME, ALLY, ghost), 5, AUTH, NOW)
    assert kinds(alarms) == [(AlarmKind.UNCERTIFIED, 66)]
    assert "user 66" in alarms[0].text and "no certificate" in alarms[0].text
    assert certification.hold(NOW)


def test_a_revocation_list_turns_a_member_uncertified_at_once() -> None:
    certification = in_epoch_5(ME, ALLY, OTHER)
    for device in (ALLY, OTHER):
        certification.attestation(attested(device), NOW)
    assert not certification.hold(NOW)
    (ally_certificate,) = certification._certificates[ALLY.user_id]
    alarms = certification.revocation_list(
        sign_revocations(A.key, SUMMIT, 1, [ally_certificate.serial], NOW), NOW + 1
    )
    assert kinds(alarms) == [(AlarmKind.UNCERTIFIED, ALLY.user_id)] and "revoked" in alarms[0].text
    assert certification.hold(NOW + 1)


def test_a_member_attesting_another_group_at_this_epoch_raises_a_mismatch_and_holds() -> None:
    certification = in_epoch_5(ME, ALLY, OTHER)
    certification.attestation(attested(ALLY), NOW)
    alarms = certification.attestation(attested(OTHER, authenticator=FORK), NOW + 0.1)
    assert kinds(alarms) == [(AlarmKind.ATTESTATION_MISMATCH, OTHER.user_id)]
    assert certification.hold(NOW + 0.1)


def test_a_member_silent_past_the_bound_is_named_at_the_deadline() -> None:
    certification = in_epoch_5(ME, ALLY, OTHER)
    certification.attestation(attested(ALLY), NOW)
    deadline = certification.deadline(NOW)
    assert deadline == NOW + ATTESTATION_BOUND
    assert kinds(certification.tick(deadline)) == [(AlarmKind.ATTESTATION_SILENT, OTHER.user_id)]
    assert certification.hold(deadline)


def test_a_welcomed_device_learns_its_epoch_from_a_members_attestation_of_its_authenticator() -> None:
    certification = device_of_a(ME, ALLY, OTHER)
    certification.attestation(attested(ALLY, epoch=9), NOW)  # came before the welcome was read
    certification.key_group(leaves(ME, ALLY, OTHER), None, AUTH, NOW)
    assert certification.to_attest() == Epoch(9, AUTH)
    assert certification.hold(NOW)
    certification.attestation(attested(OTHER, epoch=9), NOW)
    assert not certification.hold(NOW)


def test_a_welcome_into_a_group_whose_members_never_attest_it_alarms_on_each_of_them() -> None:
    certification = device_of_a(ME, ALLY, OTHER)
    certification.key_group(leaves(ME, ALLY, OTHER), None, AUTH, NOW)
    certification.attestation(attested(ALLY, epoch=9, authenticator=FORK), NOW)  # another group's
    assert certification.to_attest() is None
    deadline = certification.deadline(NOW)
    assert deadline == NOW + ATTESTATION_BOUND
    assert kinds(certification.tick(deadline)) == [
        (AlarmKind.ATTESTATION_SILENT, ALLY.user_id),
        (AlarmKind.ATTESTATION_SILENT, OTHER.user_id),
    ]


def test_a_proposed_joiner_is_recognised_only_with_a_certificate_for_the_key_it_brings() -> None:
    certification = device_of_a(ME, ALLY, OTHER)
    assert certification.vet(OTHER.user_id, OTHER.public, NOW).certified
    made_by_the_server = B.device(OTHER.user_id)
    verdict = certification.vet(OTHER.user_id, made_by_the_server.public, NOW)
    assert verdict.problem is Problem.KEY_MISMATCH
    assert certification.vet(77, B.device(77).public, NOW).problem is Problem.NO_CERTIFICATE


def test_a_leaving_member_keeps_its_roster_entry_while_still_in_the_key_group() -> None:
    certification = in_epoch_5(ME, ALLY, OTHER)
    alarms = certification.roster({d.user_id: d.roster_entry() for d in (ME, ALLY)}, NOW + 1)
    assert alarms == [] and certification.check is not None and certification.check.certified


def test_a_members_certificate_expiring_is_a_deadline() -> None:
    certification = in_epoch_5(ME, ALLY)
    certification.attestation(attested(ALLY), NOW)
    assert certification.deadline(NOW) == NOW + HOUR
    alarms = certification.tick(NOW + HOUR)
    assert {(a.kind, a.user_id) for a in alarms} == {
        (AlarmKind.UNCERTIFIED, ME.user_id),
        (AlarmKind.UNCERTIFIED, ALLY.user_id),
    }
