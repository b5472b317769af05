"""A hostile server against certified SDK devices: the cases of issue 12's "must show" 1 (a)-(f).

The server is the real one in this process, patched the way its operator could (tests/hostile.py,
tests/hostile_identity.py): its gateway proposes keys of its own, its roster relabels a member,
its gateway splits the members into two groups. What it cannot do is make a certificate. Every
client must raise the alarm naming the member within 2 s (ALARM_WITHIN), and send no frame in an
epoch that holds what it should not: checked at Janus, or by the epoch never existing at all
(a certified member does not commit a joiner it cannot vet, so no key of the server's ever gets
a frame's key).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from calls import janus_spy, receiving, until
from certified import CertifiedSummit, certified_summit, closing, enroll, officer_console
from hostile import room_of, swap_key
from hostile_identity import propose_impostor, relabel, split_next_commit

from parley.sdk.client import ParleyClient
from parley.server.room import Room
from parley.server.runtime import ParleyServer

pytestmark = pytest.mark.anyio

ALARM_WITHIN = 2.0  # s: the bound, from the server's act to every client's alarm
WINDOW = 3.0  # s of watching Janus forward nothing
PATTERNS = {"Officer A": 3, "Officer B": 5, "Ann": 9, "Boris": 12, "Carl": 14}
GHOST = 4_000_000_000_000_001  # a user id no device has


class Call:
    def __init__(self, summit: CertifiedSummit, clients: dict[str, ParleyClient]) -> None:
        self.summit, self.clients = summit, clients

    @property
    def room(self) -> Room:
        return room_of(self.summit.server, self.summit.summit.summit_id)

    def __getitem__(self, name: str) -> ParleyClient:
        return self.clients[name]

    def everyone(self, *but: str) -> list[ParleyClient]:
        return [c for name, c in self.clients.items() if name not in but]


def certified(client: ParleyClient, members: int) -> bool:
    return (
        client.certified is not None
        and client.certified.certification.summary() == f"all {members} members certified"
        and not client.holding
    )


@pytest.fixture
async def call(parley: ParleyServer, tmp_path: Path) -> AsyncIterator[Call]:
    """Two officers and a device of each delegation (and Carl, of A), enrolled, all certified."""
    async with closing(certified_summit(parley, tmp_path / "devices")) as summit:
        officers = {
            "Officer A": await officer_console(summit, "Delegation A", "Officer A", PATTERNS["Officer A"]),
            "Officer B": await officer_console(summit, "Delegation B", "Officer B", PATTERNS["Officer B"]),
        }
        devices = {}
        for name, delegation, officer in (
            ("Ann", "Delegation A", "Officer A"),
            ("Boris", "Delegation B", "Officer B"),
            ("Carl", "Delegation A", "Officer A"),
        ):
            devices[name] = summit.client(delegation, name, PATTERNS[name])
            await devices[name].join()
            await enroll(officers[officer], devices[name])
        clients = {**officers, **devices}
        await until(lambda: all(certified(c, len(clients)) for c in clients.values()), 20, "all certified")
        yield Call(summit, clients)


def alarmed(client: ParleyClient, user_id: int, words: str) -> bool:
    return any(f"user {user_id}" in text and words in text for text in client.alarms)


async def every_client_alarms(clients: list[ParleyClient], user_id: int, words: str) -> None:
    await until(
        lambda: all(alarmed(c, user_id, words) for c in clients),
        ALARM_WITHIN,
        f"every client's alarm naming user {user_id} ({words})",
    )


def in_any_key_group(call: Call, user_id: int, key: bytes) -> bool:
    return any(c.member is not None and c.member.roster.get(user_id) == key for c in call.everyone())


async def test_a_a_member_with_no_certificate_is_named_by_every_client_and_never_gets_a_key(
    call: Call,
) -> None:
    ghost = propose_impostor(call.room, GHOST)
    await every_client_alarms(call.everyone(), GHOST, "has no certificate")
    await asyncio.sleep(0.5)  # the members have answered the proposal: none committed it
    assert not any(GHOST in (c.member.roster if c.member else {}) for c in call.everyone())
    assert ghost.roster == {} and not ghost.can_send


async def test_b_a_certified_user_id_with_a_key_the_server_made_is_named_and_never_committed(
    call: Call,
) -> None:
    boris = call["Boris"]
    impostor = swap_key(call.room, boris.user_id)
    # The gateway proposes the swap to the members but Boris, whose leaf it removes: he is shown
    # nothing, and nothing changes for him either, since no certified member commits the swap.
    await every_client_alarms(call.everyone("Boris"), boris.user_id, "another key")
    await asyncio.sleep(0.5)
    assert not in_any_key_group(call, boris.user_id, impostor.roster.get(boris.user_id, b"none"))
    assert not impostor.can_send


async def test_c_a_removed_member_re_added_with_a_new_key_is_named_and_never_committed(call: Call) -> None:
    carl = call["Carl"]
    carl_id = carl.user_id
    await carl.leave()
    others = call.everyone("Carl")
    await until(
        lambda: not any(carl_id in (c.member.roster if c.member else {}) for c in others), 10, "Carl out"
    )
    impostor = propose_impostor(call.room, carl_id)
    await every_client_alarms(others, carl_id, "another key")
    await asyncio.sleep(0.5)
    assert not any(carl_id in (c.member.roster if c.member else {}) for c in others)
    assert not impostor.can_send


async def test_d_a_user_id_added_twice_is_named_and_never_committed(call: Call) -> None:
    boris = call["Boris"]
    impostor = propose_impostor(call.room, boris.user_id)
    await every_client_alarms(call.everyone(), boris.user_id, "another key")
    await asyncio.sleep(0.5)
    assert all(c.member is not None and len(c.member.roster) == len(call.clients) for c in call.everyone())
    assert not impostor.can_send


async def test_e_a_member_of_a_shown_as_one_of_b_is_named_and_nothing_is_sent(call: Call) -> None:
    ann = call["Ann"]
    b = next(d for d in call.summit.summit.delegations if d.name == "Delegation B")
    await until(
        lambda: receiving(call["Boris"].feeds.get(ann.user_id), PATTERNS["Ann"]), 30, "Boris to see Ann"
    )
    relabel(call.room, ann.user_id, b.delegation_id, b.name)
    await every_client_alarms(call.everyone(), ann.user_id, "the roster shows another delegation")
    assert all(c.holding for c in call.everyone())
    channel = call["Officer A"].summit.channel_id
    async with janus_spy(call.summit.server, channel, ann.user_id) as spied:
        await asyncio.sleep(WINDOW)
        assert spied.forwarded == [], "Ann sent frames while a member was shown under another delegation"


async def test_f_a_call_split_into_two_groups_is_caught_by_every_client_and_nothing_is_sent(
    call: Call,
) -> None:
    ann, boris = call["Ann"], call["Boris"]
    await until(lambda: receiving(boris.feeds.get(ann.user_id), PATTERNS["Ann"]), 30, "Boris to see Ann")
    half = {boris.user_id, call["Officer B"].user_id}
    split_next_commit(call.room, half)
    await call["Carl"].leave()  # the removal's commit is the one the server splits
    rest = [call["Ann"], call["Officer A"]]
    halves = [call["Boris"], call["Officer B"]]
    await until(
        lambda: all(any("another group" in t for t in c.alarms) for c in rest + halves),
        ALARM_WITHIN + 1.0,  # from Carl's leaving: its removal's proposal and commit come first
        "every client's alarm of a split",
    )
    for client in rest:
        assert any(alarmed(client, u, "another group") for u in half), client.alarms
    for client in halves:
        assert any(alarmed(client, c.user_id, "another group") for c in rest), client.alarms
    assert ann.group_code() != boris.group_code()
    assert all(c.holding for c in rest + halves)
    async with janus_spy(call.summit.server, ann.summit.channel_id, ann.user_id) as spied:
        await asyncio.sleep(WINDOW)
        assert spied.forwarded == [], "Ann sent frames in an epoch split from half the call"
