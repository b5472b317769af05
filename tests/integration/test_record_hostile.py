"""A hostile server against the record: it drops, reorders, alters or forks the entries it relays,
or leaves one out of the log a late device reads. Every client shown the result raises the alarm
that names what the server did, with the entry, within DROP_BOUND and a little.

The cast, all real SDK devices in a certified summit on a real server: Delegation A's and B's
principals (their officer consoles), A's delegate (a reader that signs nothing, enrolled by A's
console), and B's second principal W, enrolled by B's console, who writes the entries the
server tampers with: the server must show its writer the entry as written (or W, waiting for
it, writes nothing more), so the victims are everyone else, both delegations included.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from calls import until
from certified import CertifiedSummit, certified_summit, closing, enroll
from hostile import room_of
from hostile_record import (
    alter,
    flip_ciphertext,
    fork,
    hold_back,
    leave_out_of_pages,
    shift_time,
    swap_certificate,
    withhold,
)
from records import desk, holds_key, principals

from parley.protocol.server_ops import RecordEntryData
from parley.record.view import DROP_BOUND
from parley.sdk.client import ParleyClient
from parley.server.room import Room
from parley.server.runtime import ParleyServer
from parley.summit.model import Role

pytestmark = pytest.mark.anyio
SHOWN = DROP_BOUND + 1.0  # s: how soon after the server's act every victim raises its alarm


@dataclass
class Cast:
    summit: CertifiedSummit
    room: Room
    a: ParleyClient  # Delegation A's principal
    b: ParleyClient  # Delegation B's principal
    delegate: ParleyClient  # Delegation A's delegate: reads, signs nothing
    w: ParleyClient  # Delegation B's second principal: writes what the server tampers with

    @property
    def victims(self) -> list[ParleyClient]:
        return [self.a, self.b, self.delegate]


async def device(
    summit: CertifiedSummit, console: ParleyClient, delegation: str, name: str, role: Role
) -> ParleyClient:
    client = summit.client(delegation, name, None, role=role)
    await client.join()
    await enroll(console, client)
    return client


async def cast(summit: CertifiedSummit) -> Cast:
    a, b = await principals(summit)
    delegate = await device(summit, a, "Delegation A", "Delegate A", Role.DELEGATE)
    w = await device(summit, b, "Delegation B", "Principal W", Role.PRINCIPAL)
    everyone = (a, b, delegate, w)
    await until(lambda: all(holds_key(c) for c in everyone), 10, "every reader to hold the record key")
    assert not desk(delegate).signer and desk(w).signer
    return Cast(summit, room_of(summit.server, summit.summit.summit_id), a, b, delegate, w)


def alarm(client: ParleyClient, kind: str, seq: int) -> str | None:
    """This client's alarm that the server did `kind` to entry `seq`."""
    return next((a for a in client.alarms if a.startswith(f"record {kind}: ") and f"entry {seq}" in a), None)


async def every_one_raises(clients: list[ParleyClient], kind: str, seq: int, since: float) -> None:
    """Each client raises the alarm within SHOWN of `since` (time.monotonic() of the server's act)."""
    left = SHOWN - (time.monotonic() - since)
    await until(
        lambda: all(alarm(c, kind, seq) for c in clients),
        left,
        f"every client's 'record {kind}' alarm about entry {seq}: {[c.alarms for c in clients]}",
    )


async def test_an_entry_the_server_withholds_while_relaying_the_next_is_seen_as_dropped(
    parley: ParleyServer, tmp_path: Path
) -> None:
    async with closing(certified_summit(parley, tmp_path / "devices")) as summit:
        c = await cast(summit)
        await desk(c.a).position("Delegation A opens.")
        withhold(c.room, 1, shown_to={c.w.user_id})
        assert await desk(c.w).position("Delegation B's first word.") == 1
        assert await desk(c.w).position("Delegation B's second word.") == 2
        await every_one_raises(c.victims, "dropped", 1, time.monotonic())
        assert alarm(c.w, "dropped", 1) is None


async def test_an_entry_the_server_relays_after_the_next_is_seen_as_reordered(
    parley: ParleyServer, tmp_path: Path
) -> None:
    async with closing(certified_summit(parley, tmp_path / "devices")) as summit:
        c = await cast(summit)
        await desk(c.a).position("Delegation A opens.")
        hold_back(c.room, 1, shown_to={c.w.user_id})
        await desk(c.w).position("Delegation B's first word.")
        await desk(c.w).position("Delegation B's second word.")
        await every_one_raises(c.victims, "reordered", 1, time.monotonic())
        for victim in c.victims:  # the entries themselves are good: each copy took both in order
            await desk(victim).wait(lambda v=victim: len(desk(v).rules.log) == 3)  # type: ignore[misc]
            assert not any(a.startswith(("record dropped", "record altered")) for a in victim.alarms)


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(lambda c: flip_ciphertext, id="a byte of the ciphertext"),
        pytest.param(lambda c: shift_time, id="a byte of the signed entry"),
        pytest.param(
            lambda c: swap_certificate(c.room.policy.identity.certificates[c.delegate.user_id].to_text()),
            id="the signer's certificate",
        ),
    ],
)
async def test_an_entry_the_server_alters_is_seen_as_altered_and_the_store_keeps_it_as_written(
    parley: ParleyServer,
    tmp_path: Path,
    change: Callable[[Cast], Callable[[RecordEntryData], RecordEntryData]],
) -> None:
    async with closing(certified_summit(parley, tmp_path / "devices")) as summit:
        c = await cast(summit)
        await desk(c.a).position("Delegation A opens.")
        alter(c.room, 1, {c.w.user_id}, change(c))
        assert await desk(c.w).position("Delegation B's first word.") == 1  # W's first entry
        await every_one_raises(c.victims, "altered", 1, time.monotonic())
        written = desk(c.w).entry(1)
        (_, kept) = parley.store.load_record(summit.summit.summit_id).entries
        assert kept.entry == written.to_text()
        assert kept.ciphertext and desk(c.w).statements()[1].text == "Delegation B's first word."


async def test_two_logs_the_server_keeps_for_two_sides_are_seen_as_forked_by_every_device(
    parley: ParleyServer, tmp_path: Path
) -> None:
    async with closing(certified_summit(parley, tmp_path / "devices")) as summit:
        c = await cast(summit)
        await desk(c.a).position("Delegation A opens.")
        await desk(c.w).position("Delegation B answers.")
        b_side = {c.b.user_id, c.w.user_id}
        fork(c.room, other_side=b_side)
        seqs = await asyncio.gather(
            desk(c.a).position("A's side hears this at entry 2."),
            desk(c.b).position("B's side hears this at entry 2."),
        )
        assert list(seqs) == [2, 2]
        everyone = [c.a, c.b, c.delegate, c.w]
        await every_one_raises(everyone, "forked", 2, time.monotonic())
        assert desk(c.a).entry(2).hash() != desk(c.b).entry(2).hash()


async def test_a_late_device_reading_the_log_without_an_entry_in_its_page_sees_it_dropped(
    parley: ParleyServer, tmp_path: Path
) -> None:
    async with closing(certified_summit(parley, tmp_path / "devices")) as summit:
        c = await cast(summit)
        for n in range(3):
            await desk(c.a).position(f"Delegation A's point {n}.")
            await desk(c.w).position(f"Delegation B's point {n}.")
        late = summit.client("Delegation A", "Late delegate", None)
        await late.join()
        gap = leave_out_of_pages(c.room, 2, late.user_id)
        await enroll(c.a, late)
        await until(lambda: bool(gap.served), 10, "the late device to read the log")
        await every_one_raises([late], "dropped", 2, gap.served[0])
        assert len(desk(late).rules.log) == 2
        assert not any(alarm(v, "dropped", 2) for v in c.victims)  # the others hold the whole log
