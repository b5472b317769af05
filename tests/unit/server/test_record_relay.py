"""The server's part in the record, through the room's sans-IO policy: what it refuses and with
which code, what it keeps, whom it tells. Real documents throughout (real Ed25519 delegation
keys certifying real DAVE device keys: tests/identities.py; entries, grants, heads and signer
lists made by parley.record); no server, no sockets, the clock passed in."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TypeVar

import pytest
from identities import NOW, SUMMIT, Delegation, Device

from parley.identity.officer import prove_officer
from parley.protocol.codes import ErrorCode, RecordState
from parley.protocol.errors import PolicyError
from parley.protocol.fields import b64url
from parley.protocol.server_ops import (
    RecordEntriesOp,
    RecordEntryOp,
    RecordGrantOp,
    RecordHeadOp,
    RecordStateOp,
    SignersOp,
)
from parley.record.entry import ZERO32, EntryKind, RecordEntry, write_entry
from parley.record.head import sign_head
from parley.record.keys import RecordKey, encrypt_statement, grant_to_device
from parley.record.signers import sign_signers
from parley.record.statement import Statement
from parley.server.attendee import Attendee
from parley.server.record_relay import ENTRIES_PER_WINDOW, ENTRY_WINDOW
from parley.server.room_policy import Effect, KeepRecord, RoomPolicy, Send
from parley.summit.course import WARNINGS, Admission, AtEnd, Course
from parley.summit.model import Delegation as SummitDelegation
from parley.summit.model import Role, Summit

START = datetime.fromtimestamp(NOW, UTC)
LENGTH = timedelta(minutes=60)
NORTH = Delegation("North", "d1")
SOUTH = Delegation("South", "d2")
Op = TypeVar("Op")


def sent(effects: list[Effect], kind: type[Op]) -> list[tuple[int, Op]]:
    return [(e.to, e.op) for e in effects if isinstance(e, Send) and isinstance(e.op, kind)]


def kept(effects: list[Effect]) -> list[KeepRecord]:
    return [e for e in effects if isinstance(e, KeepRecord)]


@dataclass
class Member:
    device: Device
    attendee: Attendee
    serial: bytes


@dataclass
class Table:
    """A room's policy with certified devices in the call (each arrived with its certificate)."""

    policy: RoomPolicy
    members: dict[str, Member] = field(default_factory=dict)
    key: RecordKey = field(default_factory=RecordKey.new)
    clock: float = 0.0  # the shell's monotonic clock, as the room would pass it (each append 1 ms on)

    def arrive(
        self, name: str, delegation: Delegation, user_id: int, role: Role, certified: bool = True
    ) -> Member:
        device = delegation.device(user_id, role)
        c = device.claim
        summit_delegation = self.policy.summit.delegation(c.delegation_id)
        assert summit_delegation is not None
        who = Attendee(
            c.user_id,
            summit_delegation,
            role,
            c.people,
            c.device_key,
            f"link-{user_id}",
            f"inv-{user_id}",
            1,
            c.language,
        )
        certificate = delegation.certify(device)
        self.policy.enter(who)
        self.policy.place(user_id, START, certificate.to_text() if certified else None)
        member = Member(device, who, certificate.serial)
        self.members[name] = member
        return member

    def grant(self, by: str, to: str, key: RecordKey | None = None, summit_id: str = SUMMIT) -> list[Effect]:
        granter, recipient = self.members[by], self.members[to]
        grant = grant_to_device(
            key or self.key, recipient.device.public, granter.device.sign, granter.serial, summit_id
        )
        return self.policy.record_grant(granter.attendee, grant.to_text())

    def entry(
        self,
        by: str,
        kind: EntryKind,
        *,
        refers: bytes = ZERO32,
        seq: int | None = None,
        text: str = "Words.",
    ) -> tuple[RecordEntry, str]:
        """An entry `by` signs at the end of the server's log (or at `seq`), and its ciphertext."""
        member = self.members[by]
        log = self.policy.record.rules.log
        statement = Statement.new(text) if kind.has_text else None
        entry = write_entry(
            member.device.sign,
            summit_id=SUMMIT,
            seq=len(log) if seq is None else seq,
            prev=self.policy.record.rules.head,
            kind=kind,
            refers=refers,
            commitment=statement.commitment() if statement else ZERO32,
            key_id=self.key.key_id,
            epoch=1,
            time=NOW * 1000,
            signer=member.serial,
        )
        return entry, b64url(encrypt_statement(self.key, statement)) if statement else ""

    def append(self, by: str, kind: EntryKind, **options: object) -> tuple[RecordEntry, list[Effect]]:
        entry, ciphertext = self.entry(by, kind, **options)  # type: ignore[arg-type]
        now = self.clock
        self.clock += 0.001
        return entry, self.policy.record_append(self.members[by].attendee, entry.to_text(), ciphertext, now)


def summit_of(pinned: bool = True) -> Summit:
    return Summit(
        SUMMIT,
        "Talks",
        START,
        60,
        42,
        tuple(
            SummitDelegation(
                d.delegation_id, SUMMIT, d.name, "en", d.key.fingerprint.digits if pinned else None
            )
            for d in (NORTH, SOUTH)
        ),
        Admission.OPEN,
    )


def table(pinned: bool = True) -> Table:
    """North's principal, delegate, host and a press device; South's principal."""
    course = Course.new(START, LENGTH, Admission.OPEN, AtEnd.HARD_STOP)
    t = Table(RoomPolicy(summit_of(pinned), course))
    t.arrive("north", NORTH, 1, Role.PRINCIPAL, certified=pinned)
    t.arrive("south", SOUTH, 2, Role.PRINCIPAL, certified=pinned)
    t.arrive("delegate", NORTH, 3, Role.DELEGATE, certified=pinned)
    t.arrive("host", NORTH, 4, Role.HOST, certified=pinned)
    t.arrive("press", NORTH, 5, Role.PRESS, certified=pinned)
    return t


def keyed() -> Table:
    t = table()
    t.grant("north", "north")
    return t


def refused(code: ErrorCode, call: object, *args: object) -> str:
    with pytest.raises(PolicyError) as e:
        call(*args)  # type: ignore[operator]
    assert e.value.code is code, e.value
    return str(e.value)


def test_a_summit_whose_delegations_are_not_pinned_keeps_no_record() -> None:
    t = table(pinned=False)
    north = t.members["north"].attendee
    entry, ciphertext = t.entry("north", EntryKind.POSITION)
    refused(ErrorCode.NO_RECORD, t.policy.record_append, north, entry.to_text(), ciphertext, 0.0)
    refused(ErrorCode.NO_RECORD, t.policy.record_read, north, 0)
    refused(ErrorCode.NO_RECORD, t.policy.record_close, t.members["host"].attendee)


def test_the_press_neither_writes_nor_reads_nor_is_sent_the_record() -> None:
    t = keyed()
    press = t.members["press"]
    entry, ciphertext = t.entry("press", EntryKind.POSITION)
    refused(ErrorCode.FORBIDDEN, t.policy.record_append, press.attendee, entry.to_text(), ciphertext, 0.0)
    refused(ErrorCode.FORBIDDEN, t.policy.record_read, press.attendee, 0)
    refused(ErrorCode.NO_SUCH_DEVICE, t.grant, "north", "press")
    _, effects = t.append("north", EntryKind.POSITION)
    assert sorted(to for to, _ in sent(effects, RecordEntryOp)) == [1, 2, 3, 4]  # every reader but press
    assert [k.change.entry.seq for k in kept(effects) if k.change.entry] == [0]
    assert effects.index(kept(effects)[0]) < min(
        i for i, e in enumerate(effects) if isinstance(e, Send)
    )  # on disk before anyone hears of it


def test_the_first_grant_fixes_the_key_and_a_second_key_is_a_conflict() -> None:
    t = table()
    entry, ciphertext = t.entry("north", EntryKind.POSITION)
    assert "no key yet" in refused(
        ErrorCode.RECORD_CONFLICT,
        t.policy.record_append,
        t.members["north"].attendee,
        entry.to_text(),
        ciphertext,
        0.0,
    )
    effects = t.grant("north", "north")
    assert [to for to, _ in sent(effects, RecordGrantOp)] == [1]  # to its recipient only
    assert [k.change.grant is not None for k in kept(effects)] == [True]
    (state,) = {op.d.key_id for _, op in sent(effects, RecordStateOp)}
    assert state == b64url(t.key.key_id)
    refused(ErrorCode.RECORD_CONFLICT, t.grant, "south", "south", RecordKey.new())
    assert t.grant("north", "north") == []  # granted once: answered, not kept again


@pytest.mark.parametrize(
    ("case", "reason"),
    [
        ("signed by another device", "signed by the device that sends it"),
        ("for another summit", "another summit"),
    ],
)
def test_a_grant_not_signed_by_its_sender_for_this_summit_is_invalid(case: str, reason: str) -> None:
    t = table()
    north, south = t.members["north"], t.members["south"]
    if case == "signed by another device":
        grant = grant_to_device(t.key, north.device.public, south.device.sign, south.serial, SUMMIT)
    else:
        grant = grant_to_device(t.key, north.device.public, north.device.sign, north.serial, "0ther5ummit")
    assert reason in refused(ErrorCode.INVALID, t.policy.record_grant, north.attendee, grant.to_text())


def test_an_entry_not_at_the_end_of_the_log_is_a_conflict_and_a_broken_rule_is_refused_by_name() -> None:
    t = keyed()
    t.append("north", EntryKind.POSITION)
    entry, ciphertext = t.entry("south", EntryKind.POSITION, seq=0)
    south = t.members["south"].attendee
    assert "read the log" in refused(
        ErrorCode.RECORD_CONFLICT, t.policy.record_append, south, entry.to_text(), ciphertext, 0.0
    )
    # A delegate is no signer; an outcome's own delegation does not sign it; a seal before the close.
    entry, ciphertext = t.entry("delegate", EntryKind.POSITION)
    delegate = t.members["delegate"].attendee
    assert refused(
        ErrorCode.RECORD_REFUSED, t.policy.record_append, delegate, entry.to_text(), ciphertext, 0.0
    ).startswith("not_a_signer")
    outcome, _ = t.append("north", EntryKind.OUTCOME)
    entry, _ = t.entry("north", EntryKind.SIGN, refers=outcome.hash())
    assert refused(
        ErrorCode.RECORD_REFUSED,
        t.policy.record_append,
        t.members["north"].attendee,
        entry.to_text(),
        "",
        0.0,
    ).startswith("bad_reference")
    entry, _ = t.entry("south", EntryKind.SEAL, refers=t.policy.record.rules.head)
    assert refused(
        ErrorCode.RECORD_REFUSED, t.policy.record_append, south, entry.to_text(), "", 0.0
    ).startswith("not_closed")
    # Another device's entry, sent by this one.
    entry, ciphertext = t.entry("north", EntryKind.POSITION)
    refused(ErrorCode.FORBIDDEN, t.policy.record_append, south, entry.to_text(), ciphertext, 0.0)
    assert len(t.policy.record.entries) == 2


def test_only_the_host_closes_the_record_and_then_it_takes_only_seals_until_both_sealed() -> None:
    t = keyed()
    outcome, _ = t.append("north", EntryKind.OUTCOME)
    t.append("south", EntryKind.SIGN, refers=outcome.hash())
    refused(ErrorCode.FORBIDDEN, t.policy.record_close, t.members["north"].attendee)
    effects = t.policy.record_close(t.members["host"].attendee)
    assert [k.change.state for k in kept(effects)] == [RecordState.CLOSED]
    assert sorted(to for to, op in sent(effects, RecordStateOp) if op.d.state is RecordState.CLOSED) == [
        1,
        2,
        3,
        4,
    ]
    assert t.policy.record_close(t.members["host"].attendee)[1:] == []  # closed once: nothing more to keep

    entry, ciphertext = t.entry("north", EntryKind.POSITION)
    north = t.members["north"].attendee
    refused(ErrorCode.RECORD_REFUSED, t.policy.record_append, north, entry.to_text(), ciphertext, 0.0)
    head = t.policy.record.rules.head
    t.append("north", EntryKind.SEAL, refers=head)
    assert t.policy.record.state is RecordState.CLOSED
    _, second = t.append("south", EntryKind.SEAL, refers=head)
    assert [k.change.state for k in kept(second)] == [RecordState.SEALED]
    assert {op.d.state for _, op in sent(second, RecordStateOp)} == {RecordState.SEALED}
    entry, _ = t.entry("north", EntryKind.SEAL, refers=head)
    assert "sealed" in refused(
        ErrorCode.RECORD_REFUSED, t.policy.record_append, north, entry.to_text(), "", 0.0
    )


def test_the_last_clock_warning_closes_the_record() -> None:
    t = keyed()
    end = START + LENGTH
    assert kept(t.policy.tick(end - timedelta(minutes=max(WARNINGS)))) == []
    effects = t.policy.tick(end - timedelta(minutes=min(WARNINGS)))
    assert [k.change.state for k in kept(effects)] == [RecordState.CLOSED]
    assert t.policy.record.state is RecordState.CLOSED


def test_heads_go_to_the_other_readers_and_pages_hold_the_log_as_kept() -> None:
    t = keyed()
    t.append("north", EntryKind.POSITION)
    t.append("south", EntryKind.POSITION)
    north = t.members["north"]
    head = sign_head(north.device.sign, SUMMIT, 2, t.policy.record.rules.head, 1)
    relayed = t.policy.record_head(north.attendee, head.to_text(), 0.0)
    assert sorted(to for to, _ in sent(relayed, RecordHeadOp)) == [2, 3, 4]
    forged = sign_head(t.members["south"].device.sign, SUMMIT, 2, t.policy.record.rules.head, 1)
    refused(ErrorCode.INVALID, t.policy.record_head, north.attendee, forged.to_text(), 0.0)
    page = t.policy.record_read(t.members["delegate"].attendee, 1)
    assert isinstance(page, RecordEntriesOp) and page.d.length == 2
    assert [RecordEntry.from_text(d.entry).seq for d in page.d.entries] == [1]


def test_a_later_signer_list_decides_who_signs_for_its_delegation_and_an_earlier_one_is_refused() -> None:
    t = keyed()
    south = t.members["south"]
    t.policy.officer(
        south.attendee, b64url(SOUTH.key.public_key), b64url(prove_officer(SOUTH.key, SUMMIT, 2))
    )
    t.arrive("south delegate", SOUTH, 6, Role.DELEGATE)
    named = sign_signers(SOUTH.key, SUMMIT, SOUTH.name, 1, [t.members["south delegate"].serial])
    effects = t.policy.signers(south.attendee, named.to_text())
    assert sorted(to for to, _ in sent(effects, SignersOp)) == [1, 2, 3, 4, 6]
    t.append("south delegate", EntryKind.POSITION)  # a signer now
    dropped = sign_signers(SOUTH.key, SUMMIT, SOUTH.name, 2, [])
    t.policy.signers(south.attendee, dropped.to_text())
    entry, ciphertext = t.entry("south delegate", EntryKind.POSITION)
    delegate = t.members["south delegate"].attendee
    assert refused(
        ErrorCode.RECORD_REFUSED, t.policy.record_append, delegate, entry.to_text(), ciphertext, 0.0
    ).startswith("not_a_signer")
    assert "cannot replace" in refused(ErrorCode.INVALID, t.policy.signers, south.attendee, named.to_text())
    refused(ErrorCode.FORBIDDEN, t.policy.signers, t.members["north"].attendee, dropped.to_text())


def test_a_device_appending_faster_than_readers_could_follow_is_rate_limited() -> None:
    t = keyed()
    for _ in range(ENTRIES_PER_WINDOW):
        t.append("north", EntryKind.POSITION)
    entry, ciphertext = t.entry("north", EntryKind.POSITION)
    north = t.members["north"].attendee
    assert "entries in 2 s" in refused(
        ErrorCode.RATE_LIMITED, t.policy.record_append, north, entry.to_text(), ciphertext, t.clock
    )
    assert len(t.policy.record.rules.log) == ENTRIES_PER_WINDOW  # the refused one is not kept
    t.clock += ENTRY_WINDOW  # the window has passed
    t.append("north", EntryKind.POSITION)
    assert len(t.policy.record.rules.log) == ENTRIES_PER_WINDOW + 1
