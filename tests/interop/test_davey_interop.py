"""The page's DAVE member (web/src/e2ee/daveMember.ts on davey, Rust) and libdave (C++, dave.py)
members in one group via the gateway."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from davey_member import DaveyMember, davey_installed  # noqa: F401 - a fixture
from support import CHANNEL_ID, FRAMES, dave_members, join, new_group, pairwise

from parley.sdk.member import DaveMember, Media

pytestmark = [pytest.mark.interop, pytest.mark.usefixtures("davey_installed")]


@pytest.fixture
def davey() -> Iterator[DaveyMember]:
    with DaveyMember(1090123456789012345, CHANNEL_ID) as member:
        yield member


def davey_reaches(sender: DaveyMember, receiver: DaveMember, media: Media) -> bool:
    sealed = sender.encrypt(media.value, FRAMES[media])
    assert sealed is not None, "the page's member has no sending key, or holds its media"
    assert sealed != FRAMES[media]
    return receiver.decrypt(sender.user_id, media, sealed) == FRAMES[media]


def reaches_davey(sender: DaveMember, receiver: DaveyMember, media: Media) -> bool:
    sealed = sender.encrypt(media, FRAMES[media])
    assert sealed is not None
    return receiver.decrypt(sender.user_id, media.value, sealed) == FRAMES[media]


def test_davey_and_dave_py_members_share_one_group(davey: DaveyMember) -> None:
    gateway, link = new_group()
    a, b = dave_members(11, 22)
    davey.set_roster([11, 22, davey.user_id])  # what the server's roster op tells the page
    join(link, a, davey, b)  # davey takes part in the initial race and in a later commit

    assert gateway.members() == {11, 22, davey.user_id}
    assert not link.refusals or all(r.refused.reason.value == "late_commit" for r in link.refusals)
    state = davey.state()
    assert state["status"] == "ACTIVE" and davey.user_ids() == [11, 22, davey.user_id]
    assert davey.leaf_index() == gateway.leaf_of(davey.user_id)  # the gateway's leaf bookkeeping

    for media in Media:
        for m in (a, b):
            assert davey_reaches(davey, m, media)
            assert reaches_davey(m, davey, media)

    assert davey.group_code() == a.group_code() == b.group_code()
    for m in (a, b):
        assert davey.pairwise_code(m.user_id) == asyncio.run(m.pairwise_code(davey.user_id))
    assert pairwise(a, b)[0] != asyncio.run(a.pairwise_code(davey.user_id))
    assert davey.alarms == []
    statuses = {m["userId"]: m["status"] for m in davey.members()}
    assert statuses == dict.fromkeys(["11", "22", str(davey.user_id)], "in_call")


def test_davey_takes_a_blank_leaf_and_stays_in_step_through_a_removal(davey: DaveyMember) -> None:
    gateway, link = new_group()
    a, b, c = dave_members(11, 22, 33)
    join(link, a, b, c)
    blank = gateway.leaf_of(22)
    link.leave(22)
    link.run()

    davey.set_roster([11, 33, davey.user_id])
    join(link, davey)
    assert davey.leaf_index() == blank == gateway.leaf_of(davey.user_id)
    link.leave(11)
    davey.set_roster([33, davey.user_id])  # the server drops a leaving device from the roster at once
    link.run()
    assert gateway.members() == {33, davey.user_id}
    assert davey.user_ids() == [33, davey.user_id]
    for media in Media:
        assert davey_reaches(davey, c, media) and reaches_davey(c, davey, media)
        # a, removed, kept its old session: davey's new frames mean nothing to it.
        sealed = davey.encrypt(media.value, FRAMES[media])
        assert sealed is not None and a.decrypt(davey.user_id, media, sealed) is None
    assert davey.group_code() == c.group_code()
    assert davey.alarms == []


def test_davey_holds_its_media_while_the_key_group_has_a_member_the_roster_hides(davey: DaveyMember) -> None:
    gateway, link = new_group()
    a, hidden = dave_members(11, 66)
    davey.set_roster([11, davey.user_id])  # the server leaves 66 out of the roster it sends the page
    join(link, a, davey, hidden)
    assert gateway.members() == {11, 66, davey.user_id}

    assert [alarm.split(":")[0] for alarm in davey.alarms] == ["hidden_member"]
    assert "66" in davey.alarms[0]
    assert davey.state()["held"] is True
    for media in Media:
        assert davey.encrypt(media.value, FRAMES[media]) is None  # dropped, not sent to 66
        assert reaches_davey(a, davey, media)  # receiving goes on: the alarm is for the user to act on


def test_davey_keeps_sending_and_receiving_while_its_own_commit_is_on_its_way(davey: DaveyMember) -> None:
    """When a member leaves, the page's member commits its removal; until the gateway announces the
    commit it chose, davey says AWAITING_RESPONSE, but the group's keys are unchanged: media must go
    on both ways (the page used to drop every frame, sent and received, for that round trip)."""
    gateway, link = new_group()
    a, c = dave_members(11, 33)
    davey.set_roster([11, 33, davey.user_id])
    join(link, a, c, davey)
    link.leave(11)
    davey.set_roster([33, davey.user_id])
    awaiting = 0
    while link.step():
        if davey.state()["status"] != "AWAITING_RESPONSE":
            continue
        awaiting += 1
        for media in Media:
            assert davey_reaches(davey, c, media), "the committing page stopped sending"
            assert reaches_davey(c, davey, media), "the committing page stopped decrypting"
    assert awaiting > 0, "the page's member never committed: the test saw nothing"
    assert gateway.members() == {33, davey.user_id}
    for media in Media:
        assert davey_reaches(davey, c, media) and reaches_davey(c, davey, media)
