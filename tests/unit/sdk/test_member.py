"""The dave.py member: refusing downgrades, key persistence, recovery, what a ghost looks like."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from support import CHANNEL_ID, all_pairs_decrypt, dave_members, group_codes, join, new_group, pairwise

from parley.e2ee.gateway import MemberStatus
from parley.e2ee.opcodes import Op, PrepareTransition
from parley.protocol.dave_ops import DaveClientsConnect, DaveDeviceOp, DaveInvalidCommitWelcome, DaveServerOp
from parley.sdk.codes import format_code
from parley.sdk.identity import KeyFileError, load_or_create_signature_key
from parley.sdk.member import DaveMember, Media, MemberState


def test_a_downgrade_to_unencrypted_is_refused_with_an_alarm() -> None:
    _gateway, link = new_group()
    a, b = dave_members(11, 22)
    join(link, a, b)
    alarms: list[str] = []
    a._on_alarm = alarms.append

    assert a.receive(PrepareTransition(transition_id=9, protocol_version=0)) == []  # no "ready"
    assert alarms and "refused" in alarms[0]
    sealed = a.encrypt(Media.AUDIO, b"\xfc" + b"still secret".ljust(40))
    assert sealed is not None and b"still secret" not in sealed
    assert b.decrypt(11, Media.AUDIO, sealed) is not None


def test_nothing_is_sent_before_the_group_exists() -> None:
    member = DaveMember(11, CHANNEL_ID)
    assert member.encrypt(Media.AUDIO, b"\xfc" + bytes(20)) is None
    assert member.group_code() is None and member.roster == {}
    _gateway, link = new_group()
    join(link, member)  # alone: a pending group, no keys to send with
    assert member.state is MemberState.PENDING and member.encrypt(Media.VIDEO, bytes(100)) is None


def test_a_key_file_is_private_and_keeps_pairwise_codes_stable_across_calls(tmp_path: Path) -> None:
    paths = {u: tmp_path / f"{u}.jwk" for u in (11, 22)}

    def call() -> tuple[str, str]:
        _gateway, link = new_group()
        members = [DaveMember(u, CHANNEL_ID, load_or_create_signature_key(p)) for u, p in paths.items()]
        join(link, *members)
        return pairwise(*members)

    first, second = call(), call()
    assert first[0] == first[1] == second[0] == second[1]
    assert all(os.stat(p).st_mode & 0o777 == 0o600 for p in paths.values())

    # Without the files, the same two users get different codes: the code really is the keys'.
    _gateway, link = new_group()
    fresh = dave_members(11, 22)
    join(link, *fresh)
    assert pairwise(*fresh)[0] != first[0]


def test_a_key_file_others_can_read_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "key.jwk"
    load_or_create_signature_key(path)
    path.chmod(0o644)
    with pytest.raises(KeyFileError, match="chmod 600"):
        load_or_create_signature_key(path)


def test_a_key_file_with_garbage_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "key.jwk"
    path.write_text("not a key")
    path.chmod(0o600)
    with pytest.raises(KeyFileError, match="does not hold"):
        load_or_create_signature_key(path)


def test_codes_are_shown_in_groups_of_five() -> None:
    assert format_code("123456789012345") == "12345 67890 12345"
    with pytest.raises(ValueError, match="groups of five"):
        format_code("1234")


class Tampered:
    """Flips a byte in the first welcome the member receives, as a broken committer might."""

    def __init__(self, inner: DaveMember) -> None:
        self.user_id = inner.user_id
        self.inner = inner
        self.tampered = False
        self.reported: list[DaveInvalidCommitWelcome] = []

    def receive_wire(self, message: bytes | DaveServerOp) -> list[bytes | DaveDeviceOp]:
        if isinstance(message, bytes) and message[2] == Op.WELCOME and not self.tampered:
            self.tampered = True
            message = message[:-5] + bytes([message[-5] ^ 0xFF]) + message[-4:]
            replies = self.inner.receive_wire(message)
            self.reported = [r for r in replies if isinstance(r, DaveInvalidCommitWelcome)]
            return replies
        return self.inner.receive_wire(message)


def test_an_unusable_welcome_is_reported_and_the_member_is_removed_and_re_added() -> None:
    gateway, link = new_group()
    a, b, c = dave_members(11, 22, 33)
    join(link, a, b)
    tampered = Tampered(c)
    join(link, tampered)

    assert tampered.tampered and len(tampered.reported) == 1  # op 31 went to the gateway
    assert gateway.members() == {11, 22, 33} and c.state is MemberState.JOINED
    assert all_pairs_decrypt([a, b, c])
    assert group_codes([a, b, c]) == {a.group_code()}


def test_a_member_refuses_to_add_a_user_the_server_never_announced() -> None:
    gateway, link = new_group()
    a, b = dave_members(11, 22)
    join(link, a, b)
    c = DaveMember(33, CHANNEL_ID)
    link.join(c)
    # Drop the announcement of c to a and b: to them, c's add comes from nowhere.
    link._to_members = type(link._to_members)(
        (to, m) for to, m in link._to_members if not isinstance(m, DaveClientsConnect)
    )
    link.run()
    assert gateway.status(33) is MemberStatus.PENDING  # nobody committed it
    assert set(a.roster) == set(b.roster) == {11, 22}


def test_a_ghost_the_gateway_announces_is_in_every_roster_and_has_its_own_pairwise_code() -> None:
    """What a hostile server can do (docs/security.md): add a listener, announced like anyone else.

    The group code stays equal on every screen, so it does not expose the ghost; the roster does,
    and verifying pairwise codes with the people you expect does.
    """
    _gateway, link = new_group()
    a, b, ghost = dave_members(11, 22, 666)
    join(link, a, b, ghost)
    assert group_codes([a, b, ghost]) == {a.group_code()}
    assert 666 in a.roster and 666 in b.roster
    assert a.roster[666] == ghost.roster[666]  # the ghost's real key: pairwise codes would differ
