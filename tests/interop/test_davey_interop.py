"""davey (Rust, npm @snazzah/davey) and libdave (C++, dave.py) members in one group via the gateway."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from davey_member import DaveyMember, davey_installed  # noqa: F401 - a fixture
from support import CHANNEL_ID, FRAMES, dave_members, join, new_group, pairwise

from parley.sdk.codes import format_code
from parley.sdk.member import DaveMember, Media

pytestmark = [pytest.mark.interop, pytest.mark.usefixtures("davey_installed")]


@pytest.fixture
def davey() -> Iterator[DaveyMember]:
    with DaveyMember(1090123456789012345, CHANNEL_ID) as member:
        yield member


def davey_reaches(sender: DaveyMember, receiver: DaveMember, media: Media) -> bool:
    sealed = sender.encrypt(media.value, FRAMES[media])
    assert sealed != FRAMES[media]
    return receiver.decrypt(sender.user_id, media, sealed) == FRAMES[media]


def reaches_davey(sender: DaveMember, receiver: DaveyMember, media: Media) -> bool:
    sealed = sender.encrypt(media, FRAMES[media])
    assert sealed is not None
    return receiver.decrypt(sender.user_id, media.value, sealed) == FRAMES[media]


def test_davey_and_dave_py_members_share_one_group(davey: DaveyMember) -> None:
    gateway, link = new_group()
    a, b = dave_members(11, 22)
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

    davey_code = davey.group_code()
    assert davey_code is not None
    assert format_code(davey_code) == a.group_code() == b.group_code()
    for m in (a, b):
        dave_py_sees = asyncio.run(m.pairwise_code(davey.user_id))
        assert format_code(davey.pairwise_code(m.user_id)) == dave_py_sees
    assert pairwise(a, b)[0] != asyncio.run(a.pairwise_code(davey.user_id))


def test_davey_takes_a_blank_leaf_and_stays_in_step_through_a_removal(davey: DaveyMember) -> None:
    gateway, link = new_group()
    a, b, c = dave_members(11, 22, 33)
    join(link, a, b, c)
    blank = gateway.leaf_of(22)
    link.leave(22)
    link.run()

    join(link, davey)
    assert davey.leaf_index() == blank == gateway.leaf_of(davey.user_id)
    link.leave(11)
    link.run()
    assert gateway.members() == {33, davey.user_id}
    assert davey.user_ids() == [33, davey.user_id]
    for media in Media:
        assert davey_reaches(davey, c, media) and reaches_davey(c, davey, media)
        # a, removed, kept its old session: davey's new frames mean nothing to it.
        assert a.decrypt(davey.user_id, media, davey.encrypt(media.value, FRAMES[media])) is None
    davey_code = davey.group_code()
    assert davey_code is not None and format_code(davey_code) == c.group_code()
