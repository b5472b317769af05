"""Bad input to the gateway: each is refused with its own reason, no exception, state unchanged.

The inputs are real ones (key packages and commits made by dave.py members) altered the way an
attacker or a broken client would alter them.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import dave
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from support import all_pairs_decrypt, dave_members, device_key, hold_commits, join, new_group

from parley.e2ee.gateway import Accepted, DaveGateway, Refusal, Refused
from parley.e2ee.local_group import LocalGroup
from parley.e2ee.mls_wire import FramedPublicMessage
from parley.e2ee.opcodes import MAX_BINARY_FRAME, ExternalSenderPackage, Op, ReadyForTransition
from parley.e2ee.tls import Reader
from parley.sdk.identity import KEY_VERSION, public_key
from parley.sdk.member import DaveMember

NOW = 1000.0


@dataclass
class Scene:
    """a and b in a group at epoch 1; c's key package proposed; a's and b's commits held back."""

    gateway: DaveGateway
    link: LocalGroup
    members: dict[int, DaveMember]
    commits: dict[int, bytes]
    key_package_of_c: bytes


@pytest.fixture
def scene() -> Iterator[Scene]:
    gateway, link = new_group()
    a, b, c = dave_members(11, 22, 33)
    join(link, a, b)
    link.join(c)
    key_package = c.receive(ExternalSenderPackage(gateway.external_sender))[0]
    assert isinstance(key_package, bytes)
    commits = hold_commits(link)
    assert set(commits) == {11, 22}
    yield Scene(gateway, link, {11: a, 22: b, 33: c}, commits, key_package)


def refused(gateway: DaveGateway, user_id: int, frame: bytes) -> Refused:
    """Feed a frame; assert it is refused and changes nothing; return the refusal."""
    before = gateway.view()
    outcome = gateway.receive_binary(user_id, frame, NOW)
    assert isinstance(outcome, Refused), outcome
    assert gateway.view() == before
    return outcome


def fresh_key_package(user_id: int, gateway: DaveGateway) -> bytes:
    frame = DaveMember(user_id, gateway.channel_id).receive(ExternalSenderPackage(gateway.external_sender))[0]
    assert isinstance(frame, bytes) and frame[0] == Op.KEY_PACKAGE
    return frame


def test_the_held_commit_is_valid_so_the_alterations_below_are_what_gets_refused(scene: Scene) -> None:
    outcome = scene.gateway.receive_binary(11, scene.commits[11], NOW)
    assert isinstance(outcome, Accepted) and scene.gateway.epoch == 2
    scene.link._post(outcome)
    scene.link.run()
    assert all_pairs_decrypt(list(scene.members.values()))


def test_key_package_with_a_bad_signature(scene: Scene) -> None:
    frame = bytearray(fresh_key_package(44, scene.gateway))
    frame[-3] ^= 0x01  # inside the DER-encoded s of the key package signature
    scene.gateway.connect(44, NOW)
    assert refused(scene.gateway, 44, bytes(frame)).reason is Refusal.BAD_SIGNATURE


def test_key_package_whose_leaf_node_was_altered(scene: Scene) -> None:
    frame = bytearray(fresh_key_package(44, scene.gateway))
    # The leaf's encryption key starts after opcode, version, suite and the 65-byte init key.
    frame[1 + 2 + 2 + 1 + 65 + 1 + 10] ^= 0x01
    scene.gateway.connect(44, NOW)
    assert refused(scene.gateway, 44, bytes(frame)).reason is Refusal.BAD_SIGNATURE


def test_key_package_claiming_another_users_identity(scene: Scene) -> None:
    scene.gateway.connect(44, NOW)
    outcome = refused(scene.gateway, 44, fresh_key_package(55, scene.gateway))
    assert outcome.reason is Refusal.IDENTITY_MISMATCH
    # ... including the identity of someone already in the group.
    assert (
        refused(scene.gateway, 44, fresh_key_package(11, scene.gateway)).reason is Refusal.IDENTITY_MISMATCH
    )


def test_key_package_signed_by_another_key_than_the_device_identified_with(scene: Scene) -> None:
    scene.gateway.connect(44, NOW, identified_key=device_key())
    outcome = refused(scene.gateway, 44, fresh_key_package(44, scene.gateway))
    assert outcome.reason is Refusal.IDENTITY_MISMATCH and "identified" in outcome.detail


def test_key_package_signed_by_the_key_the_device_identified_with_is_proposed(scene: Scene) -> None:
    key = dave.SignatureKeyPair.generate(KEY_VERSION)
    scene.gateway.connect(44, NOW, identified_key=public_key(key))
    member = DaveMember(44, scene.gateway.channel_id, key)
    frame = member.receive(ExternalSenderPackage(scene.gateway.external_sender))[0]
    assert isinstance(frame, bytes)
    assert isinstance(scene.gateway.receive_binary(44, frame, NOW), Accepted)


def test_key_package_for_another_cipher_suite(scene: Scene) -> None:
    frame = bytearray(fresh_key_package(44, scene.gateway))
    frame[4] = 0x01  # cipher suite 1 (X25519): not DAVE v1's
    scene.gateway.connect(44, NOW)
    assert refused(scene.gateway, 44, bytes(frame)).reason is Refusal.UNSUPPORTED_KEY_PACKAGE


def test_commit_missing_an_outstanding_proposal(scene: Scene) -> None:
    # d's add goes out after a and b committed to c's add alone.
    scene.gateway.connect(44, NOW)
    assert isinstance(scene.gateway.receive_binary(44, fresh_key_package(44, scene.gateway), NOW), Accepted)
    outcome = refused(scene.gateway, 11, scene.commits[11])
    assert outcome.reason is Refusal.MISSING_PROPOSAL


def _with_epoch(frame: bytes, epoch: int) -> bytes:
    # opcode, u16 version, u16 wire format, group id <V> (1 + 8 bytes), then the u64 epoch.
    return frame[:14] + epoch.to_bytes(8, "big") + frame[22:]


def test_commit_for_the_wrong_epoch(scene: Scene) -> None:
    future = refused(scene.gateway, 11, _with_epoch(scene.commits[11], scene.gateway.epoch + 1))
    assert future.reason is Refusal.WRONG_EPOCH
    past = refused(scene.gateway, 11, _with_epoch(scene.commits[11], scene.gateway.epoch - 1))
    assert past.reason is Refusal.LATE_COMMIT


def test_commit_for_another_group(scene: Scene) -> None:
    frame = bytearray(scene.commits[11])
    frame[6] ^= 0xFF  # first byte of the 8-byte group id
    assert refused(scene.gateway, 11, bytes(frame)).reason is Refusal.WRONG_GROUP


def test_commit_from_a_non_member(scene: Scene) -> None:
    # c is connected but not yet in the group: it may not commit for it.
    assert refused(scene.gateway, 33, scene.commits[11]).reason is Refusal.NOT_A_MEMBER
    # A member relaying another member's commit: the sender's leaf is not its own.
    assert refused(scene.gateway, 22, scene.commits[11]).reason is Refusal.NOT_A_MEMBER
    # And a user the gateway has never seen.
    assert refused(scene.gateway, 99, scene.commits[11]).reason is Refusal.UNKNOWN_USER


def test_commit_without_the_welcome_its_adds_need(scene: Scene) -> None:
    frame = scene.commits[11]
    r = Reader(frame[1:])
    FramedPublicMessage.read(r)
    commit_only = frame[: 1 + r.position]
    assert refused(scene.gateway, 11, commit_only).reason is Refusal.WELCOME_MISMATCH


@pytest.mark.parametrize("cut", [1, 2, 10, 100, -200, -1])
def test_truncated_frames(scene: Scene, cut: int) -> None:
    for frame in (scene.key_package_of_c, scene.commits[11]):
        assert refused(scene.gateway, 33, frame[:cut]).reason is Refusal.MALFORMED


@pytest.mark.parametrize(
    "frame",
    [
        b"",
        b"\x1a",
        b"\x1a" + bytes(300),
        b"\x1c\xff\xff\xff\xff",
        b"\x1a\xc0" + bytes(20),
        b"\x1a" + b"\xff" * 64,
    ],
)
def test_garbage_frames(scene: Scene, frame: bytes) -> None:
    assert refused(scene.gateway, 33, frame).reason is Refusal.MALFORMED


def test_opcodes_a_client_may_not_send(scene: Scene) -> None:
    for opcode in (Op.PROPOSALS, Op.WELCOME, Op.EXTERNAL_SENDER_PACKAGE, 0, 255):
        assert refused(scene.gateway, 33, bytes([opcode]) + bytes(8)).reason is Refusal.UNKNOWN_OPCODE


def test_oversized_frame_is_refused_unread(scene: Scene) -> None:
    frame = scene.key_package_of_c + bytes(MAX_BINARY_FRAME)
    assert refused(scene.gateway, 33, frame).reason is Refusal.OVERSIZED


def test_a_ready_for_an_unknown_transition_is_refused(scene: Scene) -> None:
    """Malformed JSON ops never reach the gateway: parley.protocol refuses them at the edge."""
    before = scene.gateway.view()
    outcome = scene.gateway.receive_json(11, ReadyForTransition(999).to_json(), NOW)
    assert isinstance(outcome, Refused) and outcome.reason is Refusal.UNKNOWN_TRANSITION
    assert scene.gateway.view() == before


def test_after_all_that_the_group_still_works(scene: Scene) -> None:
    for frame in (b"", b"\x1c" + bytes(50), scene.key_package_of_c[:40]):
        scene.gateway.receive_binary(33, frame, NOW)
    scene.link._to_gateway.append((22, scene.commits[22]))
    scene.link.run()
    assert all_pairs_decrypt(list(scene.members.values()))


@settings(max_examples=300, deadline=None)
@given(frame=st.binary(max_size=400), opcode=st.sampled_from([26, 28]))
def test_random_bytes_never_escape_or_change_the_gateway(frame: bytes, opcode: int) -> None:
    gateway = _fuzz_gateway()
    before = gateway.view()
    outcome = gateway.receive_binary(11, bytes([opcode]) + frame, NOW)
    assert isinstance(outcome, Refused)
    assert gateway.view() == before


_FUZZ: list[DaveGateway] = []


def _fuzz_gateway() -> DaveGateway:
    """One small established group, made once: the fuzz inputs only read it."""
    if not _FUZZ:
        gateway, link = new_group()
        join(link, *dave_members(11, 22))
        _FUZZ.append(gateway)
    return _FUZZ[0]


def test_commit_whose_update_path_changes_the_senders_key_or_breaks_its_signature() -> None:
    gateway, link = new_group()
    a, b, c = dave_members(11, 22, 33)
    join(link, a, b, c)
    link.leave(33)
    commit = hold_commits(link)[11]  # a Remove needs an update path: it carries a's new leaf
    own_key, other_key = a.roster[11], a.roster[22]
    at = commit.find(own_key)
    assert at > 0

    swapped = commit[:at] + other_key + commit[at + len(own_key) :]
    assert refused(gateway, 11, swapped).reason is Refusal.IDENTITY_CHANGED

    # The leaf's encryption key sits just before its signature key: change it and the leaf's
    # signature (over group id and leaf index too) no longer verifies.
    tampered = bytearray(commit)
    tampered[at - 10] ^= 0x01
    assert refused(gateway, 11, bytes(tampered)).reason is Refusal.BAD_SIGNATURE
