"""Commits the other members cannot use, with real dave.py members: the gateway cannot check a
commit's membership tag, so it weighs the members' reports (op 31) against the committer."""

from __future__ import annotations

import pytest
from support import (
    CHANNEL_ID,
    TagCorruptingMember,
    all_pairs_decrypt,
    dave_members,
    group_codes,
    hold_commits,
    join,
    new_group,
)

from parley.e2ee.gateway import UNUSABLE_COMMIT_LIMIT, Accepted, DaveGateway, Expulsion
from parley.e2ee.local_group import LocalGroup
from parley.e2ee.opcodes import AnnounceCommitTransition, InvalidCommitWelcome
from parley.sdk.member import ClientMessage, DaveMember


def settle(link: LocalGroup, winner: int) -> None:
    """Run the link to quiet; in every commit race, `winner`'s commit (if it made one) arrives first."""
    while held := hold_commits(link):
        order = sorted(held, key=lambda user_id: user_id != winner)
        for user_id in order:  # the later ones are refused as late commits
            link._post(link.gateway.receive_binary(user_id, held[user_id], link.clock()), user_id)


def test_a_member_whose_commits_nobody_can_use_is_removed_and_the_others_regroup() -> None:
    gateway, link = new_group()
    honest = dave_members(11, 22, 33)
    attacker = TagCorruptingMember(44, CHANNEL_ID)
    join(link, *honest, attacker)  # it joins last: an honest member commits its add
    assert gateway.members() == {11, 22, 33, 44}

    newcomers = iter(dave_members(55, 66, 77, 88))
    while not link.expelled:
        newcomer = next(newcomers)  # each arrival is a commit race, and the attacker wins it
        honest.append(newcomer)
        link.join(newcomer)
        settle(link, winner=44)

    assert link.expelled == [Expulsion(44, UNUSABLE_COMMIT_LIMIT)]
    assert gateway.status(44) is None  # out of the group, its connection closed
    settle(link, winner=44)
    assert gateway.members() == {m.user_id for m in honest}
    assert all(set(m.roster) == {n.user_id for n in honest} for m in honest)
    assert len(group_codes(honest)) == 1 and None not in group_codes(honest)
    assert all_pairs_decrypt(honest)


class LyingMember(DaveMember):
    """Reports every commit it is announced as unusable (op 31), and rejoins, as a member out to
    have honest committers removed would."""

    def _on_announce_commit_transition(self, op: AnnounceCommitTransition) -> list[ClientMessage]:
        return self._invalid(op.transition_id)


@pytest.mark.parametrize("liar", [11, 33], ids=["a bystander", "the committer itself"])
def test_one_members_reports_never_count_against_an_honest_committer(liar: int) -> None:
    gateway, link = new_group()
    members = [LyingMember(u, CHANNEL_ID) if u == liar else DaveMember(u, CHANNEL_ID) for u in (11, 22, 33)]
    join(link, *members)
    for newcomer in dave_members(44, 55, 66):
        members.append(newcomer)
        link.join(newcomer)
        settle(link, winner=33)  # 33 commits whenever it can; the liar reports each commit it reads

    assert link.expelled == []
    assert gateway.members() == {m.user_id for m in members}
    assert len(group_codes(members)) == 1 and None not in group_codes(members)


def report(gateway: DaveGateway, link: LocalGroup, user_id: int, transition_id: int) -> None:
    """The member sends op 31 for the transition, as a member that could not use it would."""
    outcome = gateway.receive_json(user_id, InvalidCommitWelcome(transition_id).to_json(), link.clock())
    assert isinstance(outcome, Accepted)
    link._post(outcome)


def test_reports_from_members_the_transition_never_reached_do_not_count() -> None:
    gateway, link = new_group()
    a, b, c = dave_members(11, 22, 33)
    join(link, a, b)
    transition = gateway.view().next_transition_id - 1
    join(link, c)  # c was not in the group at that transition
    others = [DaveMember(u, CHANNEL_ID) for u in (44, 55)]
    join(link, *others)
    for _ in range(UNUSABLE_COMMIT_LIMIT):
        for user_id in (33, 44, 55):
            report(gateway, link, user_id, transition)
        link.run()
    assert link.expelled == []  # the reporters left (they said they could not go on); a and b stay
    assert gateway.members() == {11, 22}
