"""The gateway with real dave.py members: forming groups, removals, leaf tracking, commit races."""

from __future__ import annotations

import itertools

from support import (
    Clock,
    all_pairs_decrypt,
    dave_members,
    frame_reaches,
    group_codes,
    hold_commits,
    join,
    new_group,
    pairwise,
    refusals,
)

from parley.e2ee.gateway import Accepted, MemberStatus, Refusal, Refused
from parley.e2ee.opcodes import PrepareEpoch
from parley.sdk.member import DaveMember, Media


def test_three_members_form_a_group_and_each_decrypts_each_others_opus_and_vp8() -> None:
    gateway, link = new_group()
    members = dave_members(11, 22, 33)
    join(link, *members)

    assert gateway.members() == {11, 22, 33}
    assert gateway.epoch == 2  # one commit for the first pair, one for the third member
    for sender, receiver in itertools.permutations(members, 2):
        for media in Media:
            assert frame_reaches(sender, receiver, media), (sender.user_id, receiver.user_id, media)
    codes = group_codes(members)
    assert len(codes) == 1 and None not in codes
    (code,) = codes
    assert code is not None and len(code.replace(" ", "")) == 30 and len(code.split()) == 6
    for a, b in itertools.combinations(members, 2):
        a_sees, b_sees = pairwise(a, b)
        assert a_sees == b_sees and len(a_sees.replace(" ", "")) == 45
    assert len({pairwise(a, b)[0] for a, b in itertools.combinations(members, 2)}) == 3
    # Everybody's roster (from the MLS tree itself) holds exactly the three real signature keys.
    assert all(set(m.roster) == {11, 22, 33} for m in members)


def test_a_removed_member_cannot_decrypt_new_frames_and_the_others_can() -> None:
    gateway, link = new_group()
    a, b, c = dave_members(11, 22, 33)
    join(link, a, b, c)
    code_before = a.group_code()

    link.leave(22)
    link.run()

    assert gateway.members() == {11, 33} and gateway.epoch == 3
    assert group_codes([a, c]) == {a.group_code()} and a.group_code() != code_before
    for media in Media:
        for sender, receiver in ((a, c), (c, a)):
            sealed = sender.encrypt(media, b"\xfc" + bytes(40) if media is Media.AUDIO else bytes(40))
            assert sealed is not None
            assert receiver.decrypt(sender.user_id, media, sealed) is not None
            # b kept its whole session: it still has the old epoch's keys, and they no longer work.
            assert b.decrypt(sender.user_id, media, sealed) is None


def test_add_a_b_c_remove_b_add_d_remove_c_keeps_leaves_right() -> None:
    gateway, link = new_group()
    a, b, c, d = dave_members(1, 2, 3, 4)
    join(link, a, b, c)
    leaf_of_b = gateway.leaf_of(2)
    assert {gateway.leaf_of(u) for u in (1, 2, 3)} == {0, 1, 2}

    link.leave(2)
    link.run()
    assert gateway.view().leaves[leaf_of_b or 0] is None  # a blank leaf where b sat

    join(link, d)
    assert gateway.leaf_of(4) == leaf_of_b  # d takes b's blank leaf, not a new one at the edge
    assert all_pairs_decrypt([a, c, d])

    link.leave(3)
    link.run()
    assert gateway.members() == {1, 4}
    assert set(a.roster) == set(d.roster) == {1, 4}  # the real trees agree: the right leaf was removed
    assert all_pairs_decrypt([a, d])
    assert group_codes([a, d]) == {a.group_code()}
    assert not link.refusals or {r.reason for r in refusals(link)} == {Refusal.LATE_COMMIT}

    # And d's tracked leaf is right too: removing it leaves a with a group of one, which is reset.
    link.leave(4)
    link.run()
    assert gateway.view().leaves == () and not a.can_send


def test_commit_race_first_valid_commit_wins_and_the_late_one_is_refused() -> None:
    gateway, link = new_group()
    a, b, c = dave_members(11, 22, 33)
    join(link, a, b)
    epoch = gateway.epoch

    # c's key package reaches the gateway; both members get its Add and both commit to it.
    link.join(c)
    commits = hold_commits(link)
    assert set(commits) == {11, 22}

    # b's commit arrives first: it wins, though a's is just as valid.
    won = gateway.receive_binary(22, commits[22], link.clock())
    late = gateway.receive_binary(11, commits[11], link.clock())
    assert isinstance(won, Accepted)
    assert isinstance(late, Refused) and late.reason is Refusal.LATE_COMMIT
    assert "already accepted" in late.detail
    link._post(won)
    link.run()

    assert gateway.epoch == epoch + 1
    assert group_codes([a, b, c]) == {a.group_code()} and a.group_code() is not None
    assert all_pairs_decrypt([a, b, c])


def test_a_silent_member_does_not_hold_the_transition_past_its_timeout() -> None:
    clock = Clock()
    gateway, link = new_group(clock)
    a, b = dave_members(11, 22)
    join(link, a, b)

    class Silent:
        """A member that never says ready_for_transition (a stalled client)."""

        def __init__(self, inner: DaveMember) -> None:
            self.user_id = inner.user_id
            self.inner = inner

        def receive_wire(self, message):  # type: ignore[no-untyped-def]
            return [m for m in self.inner.receive_wire(message) if isinstance(m, bytes)]

    c = DaveMember(33, gateway.channel_id)
    join(link, Silent(c))
    deadline = gateway.deadline()
    assert deadline is not None and a.executed_transitions[-1] < gateway.view().next_transition_id - 1
    clock.now = deadline - 0.01
    link.tick()
    link.run()
    assert gateway.deadline() == deadline  # not yet

    clock.now = deadline
    link.tick()
    link.run()
    assert gateway.deadline() is None
    assert all_pairs_decrypt([a, b, c])


def test_the_last_two_become_one_and_the_group_is_recreated_for_the_next() -> None:
    gateway, link = new_group()
    a, b, c = dave_members(11, 22, 33)
    join(link, a, b)
    link.leave(22)
    link.run()
    # A lone member holds no group: it could otherwise keep control of it (DAVE "sole member reset").
    assert gateway.view().leaves == () and gateway.epoch == 0
    assert gateway.status(11) is MemberStatus.PENDING and not a.can_send

    join(link, c)
    assert gateway.members() == {11, 33}
    assert all_pairs_decrypt([a, c])
    assert b.decrypt(11, Media.AUDIO, a.encrypt(Media.AUDIO, b"\xfc" + bytes(30)) or b"") is None


def test_a_member_sending_a_new_key_package_is_removed_and_re_added() -> None:
    gateway, link = new_group()
    a, b, c = dave_members(11, 22, 33)
    join(link, a, b, c)
    epoch = gateway.epoch

    link._to_members.append((33, PrepareEpoch(epoch=1, protocol_version=1).to_json()))
    link.run()  # c starts over with a fresh key package: the gateway swaps its leaf for the new one

    assert gateway.members() == {11, 22, 33} and gateway.epoch > epoch
    assert all_pairs_decrypt([a, b, c])
    assert group_codes([a, b, c]) == {a.group_code()}
