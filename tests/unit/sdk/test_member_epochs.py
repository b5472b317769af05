"""The dave.py member's epochs and its vetting of joiners, against the real gateway in one process
(parley.e2ee.local_group): what a certified device builds its checks on."""

from __future__ import annotations

from support import dave_members, join, new_group

from parley.sdk.member import MemberState


def test_a_commit_tells_the_epoch_number_a_welcome_does_not_and_the_authenticator_is_shared() -> None:
    gateway, link = new_group()
    a, b, c = dave_members(11, 22, 33)
    join(link, a, b)
    join(link, c)
    assert a.epoch == b.epoch == gateway.epoch
    assert c.epoch is None  # welcomed: the number is inside the encrypted GroupInfo
    assert c.entered == 1 and a.entered == 2  # a: the commit that made the group with b, then c's
    assert a.authenticator() == b.authenticator() == c.authenticator() != b""


def test_a_joiner_the_members_do_not_vet_is_never_committed() -> None:
    gateway, link = new_group()
    a, b = dave_members(11, 22)
    join(link, a, b)
    vetted: list[tuple[int, bytes]] = []

    def vet(user_id: int, key: bytes) -> bool:
        vetted.append((user_id, key))
        return False

    a.vet_add = b.vet_add = vet
    (ghost,) = dave_members(66)
    join(link, ghost)
    assert [u for u, _ in vetted] == [66, 66] and all(len(k) == 65 for _, k in vetted)
    assert ghost.state is MemberState.PENDING and 66 not in a.roster and 66 not in b.roster
    assert gateway.members() == {11, 22}


def test_a_vetted_joiner_is_committed_as_before() -> None:
    gateway, link = new_group()
    a, b = dave_members(11, 22)
    join(link, a, b)
    a.vet_add = b.vet_add = lambda _user, _key: True
    (c,) = dave_members(33)
    join(link, c)
    assert gateway.members() == {11, 22, 33} and set(c.roster) == {11, 22, 33}
