"""The room's policy in a certified summit: who waits for a certificate, what is relayed to whom,
what is refused, and what is kept. Real documents (real Ed25519 delegation keys, real DAVE
signature keys: tests/identities.py) through the sans-IO core; no server, no sockets."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import TypeVar

import pytest
from identities import HOUR, NOW, SUMMIT, Delegation, Device

from parley.identity.attestation import attest
from parley.identity.enrollment import make_request
from parley.identity.officer import prove_officer
from parley.identity.pins import sign_pins
from parley.identity.revocation import sign_revocations
from parley.protocol.codes import CloseCode, ErrorCode
from parley.protocol.errors import PolicyError
from parley.protocol.fields import b64url
from parley.protocol.server_ops import (
    AttestationOp,
    CertificateOp,
    CourseOp,
    EnrollmentRequestOp,
    ErrorOp,
    PinsOp,
    RevocationsOp,
)
from parley.server.attendee import Attendee
from parley.server.identity_relay import ATTESTATION_WINDOW, ATTESTATIONS_PER_WINDOW, DocumentKind, Keep
from parley.server.room_policy import Close, Effect, JoinGroup, KeepDocument, RoomPolicy, Send
from parley.summit.course import Admission, AtEnd, Course, Phase
from parley.summit.model import Delegation as SummitDelegation
from parley.summit.model import Role, Summit

START = datetime.fromtimestamp(NOW, UTC)
NORTH = Delegation("North", "d1")
SOUTH = Delegation("South", "d2")
ROGUE = Delegation("Rogue", "d9")  # a key no one pinned


def summit_of(*delegations: Delegation, pinned: bool = True) -> Summit:
    return Summit(
        SUMMIT,
        "Talks",
        START,
        60,
        42,
        tuple(
            SummitDelegation(
                d.delegation_id, SUMMIT, d.name, "en", d.key.fingerprint.digits if pinned else None
            )
            for d in delegations
        ),
        Admission.OPEN,
    )


def make_policy(pinned: bool = True, kept: list[Keep] | None = None) -> RoomPolicy:
    summit = summit_of(NORTH, SOUTH, pinned=pinned)
    return RoomPolicy(
        summit, Course.new(START, timedelta(minutes=60), Admission.OPEN, AtEnd.HARD_STOP), kept=kept or []
    )


def attendee_of(policy: RoomPolicy, device: Device) -> Attendee:
    c = device.claim
    delegation = policy.summit.delegation(c.delegation_id)
    assert delegation is not None
    return Attendee(
        c.user_id,
        delegation,
        c.role,
        c.people,
        c.device_key,
        f"link-{c.user_id}",
        f"inv-{c.user_id}",
        1,
        c.language,
    )


def arrive(
    policy: RoomPolicy, device: Device, certificate: str | None = None
) -> tuple[Attendee, list[Effect]]:
    who = attendee_of(policy, device)
    policy.enter(who)
    return who, policy.place(who.user_id, START, certificate)


Op = TypeVar("Op")


def sent(effects: list[Effect], kind: type[Op]) -> list[tuple[int, Op]]:
    return [(e.to, e.op) for e in effects if isinstance(e, Send) and isinstance(e.op, kind)]


def joined(effects: list[Effect]) -> list[int]:
    return [e.user_id for e in effects if isinstance(e, JoinGroup)]


def officer_console(
    policy: RoomPolicy, delegation: Delegation, user_id: int
) -> tuple[Attendee, list[Effect]]:
    """An officer's device: it arrives, proves the key, and certifies itself."""
    device = delegation.device(user_id, people=(f"{delegation.name} officer",))
    console, _ = arrive(policy, device)
    key, proof = delegation.key.public_key, prove_officer(delegation.key, SUMMIT, user_id)
    policy.officer(console, b64url(key), b64url(proof))
    effects = policy.approve(console, delegation.certify(device).to_text(), START)
    return console, effects


def test_a_device_without_a_certificate_waits_outside_the_key_group_until_its_officer_approves() -> None:
    policy = make_policy()
    console, effects = officer_console(policy, NORTH, 1)
    assert joined(effects) == [1]  # the console certified itself: in the call
    device = NORTH.device(2)
    waiting, arriving = arrive(policy, device)
    assert joined(arriving) == [] and 2 in policy.enrolling and 2 not in policy.devices
    assert [d.user_id for d in policy.roster()] == [1]  # not shown as in the call
    assert [(to, op.d.user_id) for to, op in sent(arriving, CertificateOp)] == [(2, 1)]  # the console's

    relayed = policy.enroll(waiting, make_request(device.claim, device.sign).to_text())
    assert [(to, op.d.user_id) for to, op in sent(relayed, EnrollmentRequestOp)] == [(1, 2)]

    approved = policy.approve(console, NORTH.certify(device).to_text(), START)
    assert sorted(to for to, _ in sent(approved, CertificateOp)) == [1, 2]  # everyone present
    assert joined(approved) == [2] and 2 in policy.devices
    kept = [e.keep for e in approved if isinstance(e, KeepDocument)]
    assert [(k.kind, k.owner) for k in kept] == [(DocumentKind.CERTIFICATE, "2")]
    # The kept certificate lets the device straight in after a restart (a new room).
    again = make_policy(kept=kept)
    _, back = arrive(again, device)
    assert joined(back) == [2]


def test_enrollment_requests_go_to_the_officers_of_the_device_s_own_delegation_only() -> None:
    policy = make_policy()
    officer_console(policy, NORTH, 1)
    officer_console(policy, SOUTH, 2)
    device = SOUTH.device(3)
    waiting, _ = arrive(policy, device)
    relayed = policy.enroll(waiting, make_request(device.claim, device.sign).to_text())
    assert [to for to, _ in sent(relayed, EnrollmentRequestOp)] == [2]
    # A request that is not this device's claim exactly (another person at it) is refused.
    other = SOUTH.device(3, people=("Someone Else",))
    with pytest.raises(PolicyError) as refused:
        policy.enroll(waiting, make_request(other.claim, other.sign).to_text())
    assert refused.value.code is ErrorCode.INVALID


def test_a_device_presenting_a_good_certificate_goes_straight_in_and_everyone_gets_it() -> None:
    policy = make_policy()
    officer_console(policy, NORTH, 1)
    device = SOUTH.device(2)
    _, effects = arrive(policy, device, SOUTH.certify(device).to_text())
    assert joined(effects) == [2]
    # The console's certificate to it, and its own to the console.
    assert [(to, op.d.user_id) for to, op in sent(effects, CertificateOp)] == [(2, 1), (1, 2)]
    assert any(isinstance(e, KeepDocument) for e in effects)


@pytest.mark.parametrize(
    ("case", "reason"),
    [
        ("expired", "expired"),
        ("another key", "not what this device is"),
        ("another summit", "summit"),
        ("an unpinned key", "not by the key pinned for South"),
        ("another delegation's key", "not by the key pinned for South"),
        ("forged", "signature"),
    ],
)
def test_a_bad_certificate_at_identify_is_refused_naming_why_and_the_device_enrolls(
    case: str, reason: str
) -> None:
    policy = make_policy()
    device = SOUTH.device(2)
    certificate = {
        "expired": lambda: SOUTH.certify(device, NOW - 2 * HOUR, NOW - HOUR),
        "another key": lambda: SOUTH.certify(SOUTH.device(2)),
        "another summit": lambda: SOUTH.certify(SOUTH.device(2, summit_id="0ther5ummit")),
        "an unpinned key": lambda: ROGUE.certify(device),
        "another delegation's key": lambda: NORTH.certify(device),
        # The right claim under another certificate's signature.
        "forged": lambda: replace(SOUTH.certify(device), signature=SOUTH.certify(SOUTH.device(5)).signature),
    }[case]()
    _, effects = arrive(policy, device, certificate.to_text())
    assert joined(effects) == [] and 2 in policy.enrolling
    ((to, error),) = sent(effects, ErrorOp)
    assert to == 2 and isinstance(error, ErrorOp)
    assert error.d.code is ErrorCode.INVALID and error.d.op == "identify" and reason in error.d.message


def test_officer_consoles_prove_the_pinned_key_and_certify_their_own_delegation_only() -> None:
    policy = make_policy()
    device = NORTH.device(1)
    north, _ = arrive(policy, device)
    with pytest.raises(PolicyError) as wrong_proof:  # a proof made for another device
        policy.officer(north, b64url(NORTH.key.public_key), b64url(prove_officer(NORTH.key, SUMMIT, 7)))
    assert wrong_proof.value.code is ErrorCode.INVALID
    with pytest.raises(PolicyError) as unpinned:
        policy.officer(north, b64url(ROGUE.key.public_key), b64url(prove_officer(ROGUE.key, SUMMIT, 1)))
    assert unpinned.value.code is ErrorCode.FORBIDDEN
    with pytest.raises(PolicyError) as not_officer:  # approving before proving anything
        policy.approve(north, NORTH.certify(device).to_text(), START)
    assert not_officer.value.code is ErrorCode.FORBIDDEN
    console, _ = officer_console(policy, NORTH, 3)
    south = SOUTH.device(4)
    arrive(policy, south)
    with pytest.raises(PolicyError) as foreign:
        policy.approve(console, SOUTH.certify(south).to_text(), START)
    assert foreign.value.code is ErrorCode.FORBIDDEN


def test_a_revocation_is_relayed_to_everyone_and_ends_the_revoked_device_s_stay() -> None:
    policy = make_policy()
    console, _ = officer_console(policy, NORTH, 1)
    device = NORTH.device(2)
    certificate = NORTH.certify(device)
    arrive(policy, device, certificate.to_text())
    officer_console(policy, SOUTH, 3)
    revocations = sign_revocations(NORTH.key, SUMMIT, 1, [certificate.serial], NOW)
    effects = policy.revocations(console, revocations.to_text())
    assert sorted(to for to, _ in sent(effects, RevocationsOp)) == [1, 2, 3]
    ((to, error),) = sent(effects, ErrorOp)
    assert to == 2 and isinstance(error, ErrorOp) and error.d.code is ErrorCode.CERTIFICATE_REVOKED
    assert [e.code for e in effects if isinstance(e, Close)] == [CloseCode.CERTIFICATE_REVOKED]
    assert 2 not in policy.devices
    with pytest.raises(PolicyError) as stale:  # an older list cannot replace it
        policy.revocations(console, sign_revocations(NORTH.key, SUMMIT, 1, [], NOW).to_text())
    assert stale.value.code is ErrorCode.INVALID


def test_a_pin_set_goes_to_its_own_delegation_s_devices_and_is_in_ready_from_then_on() -> None:
    policy = make_policy()
    console, _ = officer_console(policy, NORTH, 1)
    arrive(policy, NORTH.device(2), NORTH.certify(NORTH.device(2)).to_text())
    officer_console(policy, SOUTH, 3)
    pinned = {d.name: d.key.fingerprint for d in (NORTH, SOUTH)}
    pin_set = sign_pins(NORTH.key, SUMMIT, 1, pinned).to_text()
    effects = policy.pins(console, pin_set)
    assert sorted(to for to, _ in sent(effects, PinsOp)) == [1, 2]
    assert policy.identity.pin_set_text("d1") == pin_set and policy.identity.pin_set_text("d2") is None
    with pytest.raises(PolicyError) as foreign:  # signed by another delegation's key
        policy.pins(console, sign_pins(SOUTH.key, SUMMIT, 2, pinned).to_text())
    assert foreign.value.code is ErrorCode.FORBIDDEN


def test_an_attestation_is_relayed_to_the_others_in_the_call_and_only_its_own() -> None:
    policy = make_policy()
    officer_console(policy, NORTH, 1)
    device = SOUTH.device(2)
    member, _ = arrive(policy, device, SOUTH.certify(device).to_text())
    own = attest(SUMMIT, 3, b"\x01" * 32, 2, device.sign).to_text()
    assert [to for to, _ in sent(policy.attest(member, own, 0.0), AttestationOp)] == [1]
    with pytest.raises(PolicyError) as not_its_own:
        policy.attest(member, attest(SUMMIT, 3, b"\x01" * 32, 1, device.sign).to_text(), 0.0)
    assert not_its_own.value.code is ErrorCode.INVALID


def test_a_device_flooding_attestations_is_refused_before_they_fill_everyone_s_outbox() -> None:
    policy = make_policy()
    officer_console(policy, NORTH, 1)
    device = SOUTH.device(2)
    member, _ = arrive(policy, device, SOUTH.certify(device).to_text())
    texts = [
        attest(SUMMIT, epoch, b"\x01" * 32, 2, device.sign).to_text()
        for epoch in range(1, ATTESTATIONS_PER_WINDOW + 2)
    ]
    step = ATTESTATION_WINDOW / (ATTESTATIONS_PER_WINDOW + 1)
    for i, text in enumerate(texts[:ATTESTATIONS_PER_WINDOW]):
        policy.attest(member, text, i * step)
    last = ATTESTATIONS_PER_WINDOW * step  # still within the window of the first
    with pytest.raises(PolicyError) as flooding:
        policy.attest(member, texts[-1], last)
    assert flooding.value.code is ErrorCode.RATE_LIMITED
    # Once the first has left the window, the next epoch's attestation goes through.
    assert sent(policy.attest(member, texts[-1], ATTESTATION_WINDOW + step / 2), AttestationOp)


def test_a_summit_without_pins_lets_devices_in_without_certificates() -> None:
    policy = make_policy(pinned=False)
    _, effects = arrive(policy, NORTH.device(2))
    assert joined(effects) == [2] and not policy.enrolling
    assert Role.DELEGATE is policy.devices[2].role


def test_a_room_whose_call_empties_is_not_empty_while_a_device_waits_for_its_certificate() -> None:
    policy = make_policy()
    console, _ = officer_console(policy, NORTH, 1)
    waiting, _ = arrive(policy, NORTH.device(2))  # an officer console that never certified itself, say
    assert 2 in policy.enrolling
    policy.depart(console.user_id)
    assert not policy.devices and not policy.lobby
    assert not policy.empty  # the room stays open for the device waiting
    policy.depart(waiting.user_id)
    assert policy.empty


def test_an_officer_declines_a_waiting_device_of_its_own_delegation_and_its_stay_ends() -> None:
    policy = make_policy()
    north, _ = officer_console(policy, NORTH, 1)
    south, _ = officer_console(policy, SOUTH, 2)
    arrive(policy, NORTH.device(3))
    with pytest.raises(PolicyError) as foreign:
        policy.decline(south, 3)
    assert foreign.value.code is ErrorCode.FORBIDDEN
    with pytest.raises(PolicyError) as in_call:  # only a device waiting for its certificate
        policy.decline(north, 2)
    assert in_call.value.code is ErrorCode.NO_SUCH_DEVICE
    effects = policy.decline(north, 3)
    ((to, error),) = sent(effects, ErrorOp)
    assert to == 3 and error.d.code is ErrorCode.ENROLLMENT_DECLINED
    assert [e.code for e in effects if isinstance(e, Close)] == [CloseCode.REFUSED]
    assert 3 not in policy.enrolling


def test_a_device_waiting_for_its_certificate_follows_the_course_like_everyone_present() -> None:
    policy = make_policy()
    north, _ = officer_console(policy, NORTH, 1)
    press = NORTH.device(2, role=Role.PRESS, people=("Press Pool",))
    arrive(policy, press)
    delegate = NORTH.device(3)
    arrive(policy, delegate)
    host = attendee_of(policy, NORTH.device(9, role=Role.HOST, people=("Host",)))
    policy.devices[9] = host  # a host in the call (its own admission is not what is tested here)
    locked = policy.lock(host, True, START)
    assert 3 in [to for to, _ in sent(locked, CourseOp)]  # told of the lock while it waits
    # Approved once the summit is locked: it does not come in.
    approved = policy.approve(north, NORTH.certify(delegate).to_text(), START)
    ((_, refused),) = [(to, op) for to, op in sent(approved, ErrorOp) if to == 3]
    assert refused.d.code is ErrorCode.SUMMIT_LOCKED and 3 not in policy.devices and 3 not in policy.enrolling
    # The opening's end dismisses a press device still waiting.
    policy.lock(host, False, START)
    for phase in (Phase.LOBBY, Phase.OPENING):
        policy.advance(host, phase, START)
    closed = policy.advance(host, Phase.CLOSED_SESSION, START)
    assert 2 not in policy.enrolling
    assert [op.d.code for to, op in sent(closed, ErrorOp) if to == 2] == [ErrorCode.OPENING_ENDED]
