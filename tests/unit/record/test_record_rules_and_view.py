"""The rules refuse each broken entry with its problem, and a client's view raises each alarm
(dropped, reordered, altered, forked) for what a hostile server does; real keys, a fake clock."""

from __future__ import annotations

import dataclasses

import pytest
from record_course import CEASEFIRE, Course

from parley.protocol.codes import RecordProblem
from parley.record.entry import ZERO32, EntryKind, RecordEntry
from parley.record.head import sign_head
from parley.record.rules import RecordError
from parley.record.statement import Statement
from parley.record.view import RecordView


def _refused(course: Course, entry: RecordEntry, closed: bool = True) -> RecordProblem:
    assert course.rules is not None
    with pytest.raises(RecordError) as refused:
        course.rules.check(entry, course.key.key_id, closed)
    return refused.value.problem


def test_the_rules_refuse_each_broken_entry_with_its_problem() -> None:
    course = Course()
    outcome = course.write("a", EntryKind.OUTCOME, CEASEFIRE)
    text = Statement.new("text")
    c = course
    assert (
        _refused(c, dataclasses.replace(c.entry("a", EntryKind.POSITION, text), summit_id="other"))
        == "wrong_summit"
    )
    assert _refused(c, c.entry("a", EntryKind.POSITION, text, seq=5)) == "out_of_order"
    assert _refused(c, c.entry("a", EntryKind.POSITION, text, prev=ZERO32)) == "forked"
    unknown = dataclasses.replace(c.entry("a", EntryKind.POSITION, text), signer=bytes(16))
    assert _refused(c, unknown) == "unknown_signer"
    assert _refused(c, c.entry("a delegate", EntryKind.POSITION, text)) == "not_a_signer"
    forged = dataclasses.replace(c.entry("a", EntryKind.POSITION, text), signature=bytes(64))
    assert _refused(c, forged) == "bad_signature"
    assert c.rules is not None
    with pytest.raises(RecordError) as wrong_key:
        c.rules.check(c.entry("a", EntryKind.POSITION, text), bytes(16))
    assert wrong_key.value.problem == "wrong_key"
    assert _refused(c, c.entry("a", EntryKind.POSITION)) == "malformed"
    assert _refused(c, c.entry("b", EntryKind.SIGN, text, refers=outcome.hash())) == "malformed"
    assert _refused(c, c.entry("a", EntryKind.SIGN, refers=outcome.hash())) == "bad_reference"
    assert _refused(c, c.entry("b", EntryKind.SIGN, refers=bytes(range(32)))) == "bad_reference"
    assert _refused(c, c.entry("b", EntryKind.OUTCOME, text, refers=bytes(range(32)))) == "bad_reference"
    c.write("b", EntryKind.SIGN, refers=outcome.hash())
    assert _refused(c, c.entry("b delegate", EntryKind.DECLINE, text, refers=outcome.hash())) == "answered"
    assert _refused(c, c.entry("a", EntryKind.SEAL, refers=c.rules.head), closed=False) == "not_closed"
    assert _refused(c, c.entry("a", EntryKind.SEAL, refers=outcome.hash())) == "bad_reference"
    head = c.rules.head
    c.write("a", EntryKind.SEAL, refers=head)
    assert _refused(c, c.entry("b", EntryKind.POSITION, text)) == "sealed"
    assert _refused(c, c.entry("a delegate", EntryKind.SEAL, refers=head)) in ("not_a_signer",)
    c.signers["a2"] = c.signers["a"]
    assert _refused(c, c.entry("a2", EntryKind.SEAL, refers=head)) == "answered"
    assert not c.rules.sealed
    c.write("b", EntryKind.SEAL, refers=head)
    assert c.rules.sealed and c.rules.standing()[0].agreed


def _view(course: Course) -> RecordView:
    return RecordView(course.fresh_rules(), course.key)


def test_a_view_takes_the_log_in_order_and_decrypts_it() -> None:
    course = Course().talks()
    assert course.rules is not None
    view = RecordView(course.fresh_rules())
    for entry in course.rules.log:
        assert view.receive_entry(entry, course.ciphertexts[entry.seq], 0.0) == []
    assert view.statements() == {} and view.set_key(course.key) == []
    assert view.statements() == course.statements


def test_an_entry_after_a_later_one_is_reordered_and_a_gap_is_dropped() -> None:
    course = Course().talks()
    assert course.rules is not None
    log, view = course.rules.log, _view(course)
    view.receive_entry(log[0], course.ciphertexts[0], 0.0)
    assert view.receive_entry(log[2], course.ciphertexts[2], 1.0) == []
    assert view.deadline() == 3.0
    alarms = view.receive_entry(log[1], course.ciphertexts[1], 1.5)
    assert [(a.kind, a.seq) for a in alarms] == [("reordered", 1)] and len(view.rules.log) == 3
    view.receive_entry(log[4], course.ciphertexts[4], 2.0)
    assert view.tick(3.9) == []
    assert [(a.kind, a.seq) for a in view.tick(4.0)] == [("dropped", 3)]


def test_an_altered_entry_or_text_is_altered() -> None:
    course = Course().talks()
    assert course.rules is not None
    log, view = course.rules.log, _view(course)
    forged = dataclasses.replace(log[0], signature=bytes(64))
    assert [a.kind for a in view.receive_entry(forged, course.ciphertexts[0], 0.0)] == ["altered"]
    other = _view(course)
    swapped = course.ciphertexts[1]
    assert [a.kind for a in other.receive_entry(log[0], swapped, 0.0)] == ["altered"]


def test_a_second_entry_at_a_seq_held_or_another_head_is_forked() -> None:
    course = Course().talks()
    assert course.rules is not None
    log, view = course.rules.log, _view(course)
    for entry in log[:3]:
        view.receive_entry(entry, course.ciphertexts[entry.seq], 0.0)
    other = course.entry("a", EntryKind.POSITION, Statement.new("x"), seq=1, prev=log[0].hash())
    assert [a.kind for a in view.receive_entry(other, b"x", 0.0)] == ["forked"]
    member = course.signers["b"].device
    head = sign_head(member.sign, view.rules.summit_id, 3, log[0].hash(), member.user_id)
    assert [a.kind for a in view.receive_head(head, member.public, 0.0)] == ["forked"]


def test_a_longer_head_not_caught_up_with_is_dropped() -> None:
    course = Course().talks()
    assert course.rules is not None
    log, view = course.rules.log, _view(course)
    view.receive_entry(log[0], course.ciphertexts[0], 0.0)
    member = course.signers["b"].device
    head = sign_head(member.sign, view.rules.summit_id, 3, log[2].hash(), member.user_id)
    assert view.receive_head(head, member.public, 0.0) == [] and view.deadline() == 2.0
    assert [(a.kind, a.seq) for a in view.tick(2.0)] == [("dropped", 1)]
