"""The per-epoch check over real key groups: dave.py members (each with the DAVE key its delegation
certified) joined through the real gateway in one process (parley.e2ee.local_group), the leaves
taken from each member's own MLS tree as the SDK will take them (`DaveMember.roster`)."""

from __future__ import annotations

from identities import NOW, SUMMIT, Delegation, Device, pins_of
from support import CHANNEL_ID, join, new_group

from parley.identity.epoch_check import check_epoch
from parley.identity.problems import Problem
from parley.identity.revocation import RevocationBook
from parley.protocol.vocabulary import Role
from parley.sdk.member import DaveMember

A = Delegation("Delegation A", "a1a1a1a1a1a1a1a1")
B = Delegation("Delegation B", "b2b2b2b2b2b2b2b2")
DEVICES = (A.device(11, Role.HOST, ("Ada Host",)), B.device(21, Role.PRINCIPAL, ("Boris Principal",)))
CERTIFICATES = [A.certify(DEVICES[0]), B.certify(DEVICES[1])]
ROSTER = {d.user_id: d.roster_entry() for d in DEVICES}


def member(device: Device) -> DaveMember:
    return DaveMember(device.user_id, CHANNEL_ID, signature_key=device.key)


def test_every_member_of_a_real_key_group_finds_everyone_certified() -> None:
    _gateway, link = new_group()
    members = [member(d) for d in DEVICES]
    join(link, *members)
    for m, own in zip(members, (A, B), strict=True):
        pins = pins_of(own, B if own is A else A)
        result = check_epoch(
            SUMMIT, m.roster.items(), CERTIFICATES, pins, RevocationBook(SUMMIT), ROSTER, NOW
        )
        assert result.certified, result.alarms
        assert {v.user_id for v in result.verdicts} == {11, 21}


def test_a_ghost_the_gateway_adds_to_the_real_key_group_is_named_by_every_member() -> None:
    # The server announces a listener of its own (as `test_member.py` shows it can) and lists it in
    # the roster as a device of B: without a certificate it is named, whatever the roster says.
    _gateway, link = new_group()
    members = [member(d) for d in DEVICES]
    ghost_device = B.device(666, Role.DELEGATE, ("Quiet Listener",))
    join(link, *members, member(ghost_device))
    roster = {**ROSTER, 666: ghost_device.roster_entry()}
    for m in members:
        result = check_epoch(
            SUMMIT, m.roster.items(), CERTIFICATES, pins_of(A, B), RevocationBook(SUMMIT), roster, NOW
        )
        assert [(v.user_id, v.problem) for v in result.alarms] == [(666, Problem.NO_CERTIFICATE)]
        assert result.alarms[0].text == "user 666 (Delegation B: Quiet Listener) has no certificate"
