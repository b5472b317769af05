"""Turning the in-process server hostile against the record, as its operator could: dropping,
reordering, altering or forking the entries it relays, and leaving one out of a page it reads out.

Each helper patches the running room's policy (there is no switch for this in production code):
what the room stores stays the honest entry, only what it sends changes. Nothing here touches a
client. The server can do all of this; what it cannot do is sign an entry, which is why every
client that is shown the result catches it (tests/integration/test_record_hostile.py).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection
from dataclasses import dataclass, field, replace

from parley.protocol.fields import b64url, unb64url
from parley.protocol.server_ops import RecordEntriesOp, RecordEntryData, RecordEntryOp
from parley.record.entry import RecordEntry
from parley.server.attendee import Attendee
from parley.server.record_relay import RecordRelay
from parley.server.room import Room
from parley.server.room_policy import Effects, KeepRecord, Send
from parley.store.kept_record import KeptRecord

Tamper = Callable[[Send], list[Send]]


def _seq(send: Send) -> int | None:
    """The seq of the entry a Send relays, if it relays one."""
    if isinstance(send.op, RecordEntryOp):
        return RecordEntry.from_text(send.op.d.entry).seq
    return None


def _tamper_appends(room: Room, tamper: Tamper) -> None:
    """From now on each Send of an entry the room relays goes through `tamper` (the rest of an
    append's effects, the store first, as the honest room does them)."""
    honest = room.policy.record_append

    def record_append(by: Attendee, entry: str, ciphertext: str, now: float) -> Effects:
        effects: Effects = []
        for effect in honest(by, entry, ciphertext, now):
            effects += tamper(effect) if isinstance(effect, Send) and _seq(effect) is not None else [effect]
        return effects

    room.policy.record_append = record_append  # type: ignore[method-assign]


def withhold(room: Room, seq: int, shown_to: Collection[int]) -> None:
    """Entry `seq` goes only to `shown_to` (its writer, so that it writes on); every later entry
    is relayed to every reader as the honest server relays it."""
    _tamper_appends(room, lambda send: [send] if _seq(send) != seq or send.to in shown_to else [])


def hold_back(room: Room, seq: int, shown_to: Collection[int]) -> None:
    """Entry `seq` goes at once only to `shown_to`; every other reader gets it right after the next
    entry, which so arrives first."""
    held: list[Send] = []

    def tamper(send: Send) -> list[Send]:
        if _seq(send) == seq and send.to not in shown_to:
            held.append(send)
            return []
        if _seq(send) == seq + 1:
            late = [h for h in held if h.to == send.to]
            return [send, *late]
        return [send]

    _tamper_appends(room, tamper)


def alter(
    room: Room, seq: int, shown_to: Collection[int], change: Callable[[RecordEntryData], RecordEntryData]
) -> None:
    """Entry `seq` as relayed to every reader but `shown_to` is changed by `change`; the room
    still stores (and `shown_to` gets) the entry as written."""

    def tamper(send: Send) -> list[Send]:
        if _seq(send) != seq or send.to in shown_to:
            return [send]
        assert isinstance(send.op, RecordEntryOp)
        return [Send(send.to, RecordEntryOp(d=change(send.op.d)))]

    _tamper_appends(room, tamper)


def flip_ciphertext(data: RecordEntryData) -> RecordEntryData:
    """One byte of the encrypted statement changed."""
    sealed = bytearray(unb64url(data.ciphertext))
    sealed[len(sealed) // 2] ^= 0x01
    return data.model_copy(update={"ciphertext": b64url(bytes(sealed))})


def shift_time(data: RecordEntryData) -> RecordEntryData:
    """The entry's time a millisecond later, its signature kept: one byte of the signed body."""
    entry = RecordEntry.from_text(data.entry)
    return data.model_copy(update={"entry": replace(entry, time=entry.time + 1).to_text()})


def swap_certificate(certificate: str) -> Callable[[RecordEntryData], RecordEntryData]:
    """The signer's certificate replaced by another device's (real, certified: the server holds
    every member's)."""
    return lambda data: data.model_copy(update={"certificate": certificate})


def fork(room: Room, other_side: Collection[int]) -> None:
    """From now on the server keeps two logs. The honest relay's goes to every reader outside
    `other_side`; a second relay, started from the log as it stands now, takes the appends of
    `other_side`'s devices and goes to `other_side` only (kept in memory: the store holds the
    first log). Heads are relayed honestly."""
    honest_relay = room.policy.record
    second = RecordRelay(
        room.summit,
        KeptRecord(
            entries=tuple(honest_relay.entries),
            grants=tuple(honest_relay.grants.values()),
            signer_lists=tuple(held.to_text() for held in honest_relay.signer_lists.values()),
            state=honest_relay.state,
        ),
    )
    honest = room.policy.record_append

    def record_append(by: Attendee, entry: str, ciphertext: str, now: float) -> Effects:
        side = by.user_id in other_side
        room.policy.record = second if side else honest_relay
        try:
            effects = honest(by, entry, ciphertext, now)
        finally:
            room.policy.record = honest_relay
        return [
            e
            for e in effects
            if not (isinstance(e, Send) and _seq(e) is not None and (e.to in other_side) != side)
            and not (side and isinstance(e, KeepRecord))
        ]

    room.policy.record_append = record_append  # type: ignore[method-assign]


@dataclass
class PageGap:
    """When the hostile server served a page without the entry (time.monotonic())."""

    served: list[float] = field(default_factory=list)


def leave_out_of_pages(room: Room, seq: int, reader: int) -> PageGap:
    """Every page of the log `reader` reads (`record_read`) leaves out entry `seq`; its `length`
    stays the log's."""
    honest = room.policy.record_read
    gap = PageGap()

    def record_read(by: Attendee, from_seq: int) -> RecordEntriesOp:
        page = honest(by, from_seq)
        if by.user_id != reader:
            return page
        kept = [d for d in page.d.entries if RecordEntry.from_text(d.entry).seq != seq]
        if len(kept) < len(page.d.entries):
            gap.served.append(time.monotonic())
        return page.model_copy(update={"d": page.d.model_copy(update={"entries": kept})})

    room.policy.record_read = record_read  # type: ignore[method-assign]
    return gap
