"""The per-epoch check, one case per reason: a summit of two delegations whose officers certify
their devices and pin each other; a hostile server's ghosts, swapped keys, twin user ids, foreign
certificates and roster lies, each named with its member. Real keys throughout; the key group is
given as dave.py members report it (user id, signature key)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable

from identities import HOUR, NOW, SUMMIT, Delegation, Device, pins_of

from parley.identity.certificate import DeviceCertificate, issue
from parley.identity.delegation_key import DelegationKey
from parley.identity.epoch_check import EpochCheck, RosterEntry, check_epoch
from parley.identity.problems import Problem
from parley.identity.revocation import RevocationBook, sign_revocations
from parley.protocol.vocabulary import Role

A = Delegation("Delegation A", "a1a1a1a1a1a1a1a1")
B = Delegation("Delegation B", "b2b2b2b2b2b2b2b2")
A_HOST = A.device(11, Role.HOST, ("Ada Host",))
A_DELEGATE = A.device(12, Role.DELEGATE, ("Aziz Delegate", "Ana Adviser"))
B_PRINCIPAL = B.device(21, Role.PRINCIPAL, ("Boris Principal",))
B_INTERPRETER = B.device(22, Role.INTERPRETER, ("Bea Interpreter",), "ru")
DEVICES = (A_HOST, A_DELEGATE, B_PRINCIPAL, B_INTERPRETER)
CERTIFICATES = {d.user_id: (A if d.claim.delegation == A.name else B).certify(d) for d in DEVICES}
PINS = pins_of(A, B)  # as A's devices hold them


def check(
    devices: Iterable[Device] = DEVICES,
    leaves: list[tuple[int, bytes]] | None = None,
    certificates: Iterable[DeviceCertificate] | None = None,
    roster: dict[int, RosterEntry] | None = None,
    revocations: RevocationBook | None = None,
    now: float = NOW,
) -> EpochCheck:
    devices = list(devices)
    return check_epoch(
        SUMMIT,
        leaves if leaves is not None else [(d.user_id, d.public) for d in devices],
        certificates if certificates is not None else CERTIFICATES.values(),
        PINS,
        revocations or RevocationBook(SUMMIT),
        roster if roster is not None else {d.user_id: d.roster_entry() for d in devices},
        now,
    )


def reasons(result: EpochCheck) -> dict[int, Problem]:
    return {v.user_id: v.problem for v in result.alarms if v.problem is not None}


def test_an_honest_summit_of_two_delegations_is_all_certified_each_by_its_own() -> None:
    result = check()
    assert result.certified and result.alarms == []
    assert result.summary() == "all 4 members certified"
    assert {v.user_id: v.delegation for v in result.verdicts} == {
        11: A.name,
        12: A.name,
        21: B.name,
        22: B.name,
    }
    assert "user 21 (Delegation B: Boris Principal) is certified by Delegation B" in [
        v.text for v in result.verdicts
    ]


def test_the_same_summit_checks_alike_from_the_other_delegation() -> None:
    result = check_epoch(
        SUMMIT,
        [(d.user_id, d.public) for d in DEVICES],
        CERTIFICATES.values(),
        pins_of(B, A),
        RevocationBook(SUMMIT),
        {d.user_id: d.roster_entry() for d in DEVICES},
        NOW,
    )
    assert result.certified


def test_a_member_with_no_certificate_is_named() -> None:
    ghost = B.device(666, people=("Nobody",))
    result = check([*DEVICES, ghost])
    assert not result.certified and reasons(result) == {666: Problem.NO_CERTIFICATE}
    assert result.alarms[0].text == "user 666 (Delegation B: Nobody) has no certificate"
    assert result.summary() == "1 of 5 members not certified"


def test_a_certified_user_id_holding_a_key_the_server_made_is_a_key_mismatch() -> None:
    server_key = B.device(21).public
    leaves = [(d.user_id, server_key if d is B_PRINCIPAL else d.public) for d in DEVICES]
    result = check(leaves=leaves)
    assert reasons(result) == {21: Problem.KEY_MISMATCH}
    assert "another key than the one it holds in the key group" in result.alarms[0].text


def test_a_removed_member_re_added_with_a_new_key_is_a_key_mismatch() -> None:
    back = dataclasses.replace(A_DELEGATE, claim=A.device(12).claim)  # same user id, a new key
    result = check([A_HOST, back, B_PRINCIPAL, B_INTERPRETER])
    assert reasons(result) == {12: Problem.KEY_MISMATCH}


def test_a_user_id_twice_in_the_key_group_is_named_whatever_the_certificates() -> None:
    leaves = [(d.user_id, d.public) for d in DEVICES] + [(22, B.device(22).public)]
    result = check(leaves=leaves)
    assert reasons(result) == {22: Problem.USER_ID_TWICE}
    assert "is in the key group 2 times" in result.alarms[0].text
    assert [v.user_id for v in result.verdicts] == [11, 12, 21, 22]


def test_a_delegation_certifying_a_device_as_anothers_is_refused() -> None:
    # A's genuine, pinned key certifies a device that claims to be B's.
    claims_b = B.device(23, people=("Mole",))
    certificates = [*CERTIFICATES.values(), A.certify(claims_b)]
    result = check([*DEVICES, claims_b], certificates=certificates)
    assert reasons(result) == {23: Problem.FOREIGN_DELEGATION}
    assert "Delegation A's key certifies it as a device of Delegation B" in result.alarms[0].text


def test_a_certificate_from_a_key_no_delegation_is_pinned_to_is_unpinned() -> None:
    outsider = Delegation("Delegation B", "b2b2b2b2b2b2b2b2")  # same name, the server's own key
    device = outsider.device(24, people=("Sleeper",))
    result = check([*DEVICES, device], certificates=[*CERTIFICATES.values(), outsider.certify(device)])
    assert reasons(result) == {24: Problem.UNPINNED}
    assert str(outsider.key.fingerprint) in result.alarms[0].text


def test_a_third_delegation_the_pins_do_not_name_is_unpinned() -> None:
    c = Delegation("Delegation C", "c3c3c3c3c3c3c3c3")
    device = c.device(31)
    result = check([*DEVICES, device], certificates=[*CERTIFICATES.values(), c.certify(device)])
    assert reasons(result) == {31: Problem.UNPINNED}


def test_expired_not_yet_valid_revoked_forged_and_other_summit_certificates_are_each_named() -> None:
    forged = dataclasses.replace(
        issue(DelegationKey.generate(), A_DELEGATE.claim, NOW - HOUR, NOW + HOUR), issuer=A.key.public_key
    )
    other_summit = A.device(13, summit_id="0000111122223333")
    here = dataclasses.replace(other_summit, claim=dataclasses.replace(other_summit.claim, summit_id=SUMMIT))
    book = RevocationBook(SUMMIT)
    book.accept(sign_revocations(B.key, SUMMIT, 1, [CERTIFICATES[21].serial], NOW))
    certificates = {
        11: A.certify(A_HOST, NOW - 2 * HOUR, NOW - HOUR),  # expired
        12: forged,
        13: A.certify(other_summit),
        21: CERTIFICATES[21],  # revoked
        22: B.certify(B_INTERPRETER, NOW + HOUR, NOW + 2 * HOUR),  # not yet valid
    }
    result = check([*DEVICES, here], certificates=certificates.values(), revocations=book)
    assert reasons(result) == {
        11: Problem.EXPIRED,
        12: Problem.BAD_SIGNATURE,
        13: Problem.WRONG_SUMMIT,
        21: Problem.REVOKED,
        22: Problem.NOT_YET_VALID,
    }
    texts = {v.user_id: v.text for v in result.alarms}
    revoked = "the certificate was revoked by its delegation"
    assert texts[21] == f"user 21 (Delegation B: Boris Principal) is not certified: {revoked}"


def test_a_certified_member_the_roster_shows_otherwise_is_named_with_what_differs() -> None:
    roster = {d.user_id: d.roster_entry() for d in DEVICES}
    roster[12] = dataclasses.replace(roster[12], role=Role.PRINCIPAL, people=("Someone Else",))
    roster[21] = dataclasses.replace(roster[21], delegation_id=A.delegation_id, delegation=A.name)
    roster[22] = dataclasses.replace(roster[22], language="en")
    result = check(roster=roster)
    assert reasons(result) == {
        12: Problem.ROSTER_MISMATCH,
        21: Problem.ROSTER_MISMATCH,
        22: Problem.ROSTER_MISMATCH,
    }
    texts = {v.user_id: v.text for v in result.alarms}
    assert "the roster shows another role and people than its certificate" in texts[12]
    assert "another delegation" in texts[21] and "another language" in texts[22]


def test_a_certified_member_the_roster_does_not_show_is_named() -> None:
    roster = {d.user_id: d.roster_entry() for d in DEVICES if d is not A_DELEGATE}
    result = check(roster=roster)
    assert reasons(result) == {12: Problem.NOT_IN_ROSTER}
    assert result.alarms[0].text.startswith("user 12 is not certified")


def test_a_good_certificate_beside_a_stale_one_certifies_and_the_furthest_failure_is_named() -> None:
    renewed = A.certify(A_HOST)
    expired = A.certify(A_HOST, NOW - 3 * HOUR, NOW - 2 * HOUR)
    assert check(certificates=[*CERTIFICATES.values(), expired, renewed]).certified
    # For a key the server made: its old certificate (for the real key) and a forged one. The
    # one that got furthest, the key mismatch, is what the alarm says.
    server_key = A.device(11).public
    forged = dataclasses.replace(
        issue(DelegationKey.generate(), A_HOST.claim, NOW - HOUR, NOW + HOUR), issuer=A.key.public_key
    )
    leaves = [(d.user_id, server_key if d is A_HOST else d.public) for d in DEVICES]
    result = check(leaves=leaves, certificates=[forged, *CERTIFICATES.values()])
    assert reasons(result) == {11: Problem.KEY_MISMATCH}
