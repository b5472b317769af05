"""A sealed record opened with a delegation's key, offline (parley.record.sealed): a real course
(real keys, the record's real core), the sealed file as the server writes it, each delegation's
grant. No server: the file is built here from the course."""

from __future__ import annotations

import dataclasses
import json

import pytest
from identities import SUMMIT
from record_course import Course

from parley.protocol.fields import b64url
from parley.record.keys import grant_to_delegation
from parley.record.readout import export_readout
from parley.record.sealed import SealedEntry, SealedRecord, open_sealed


def sealed_of(course: Course) -> SealedRecord:
    assert course.rules is not None and course.signer_list is not None
    granter = course.signers["a"]
    grants = tuple(
        grant_to_delegation(
            course.key, d.key.public_key, granter.device.sign, granter.certificate.serial, SUMMIT
        ).to_text()
        for d in (course.a, course.b)
    )
    return SealedRecord(
        summit_id=SUMMIT,
        state="sealed",
        entries=tuple(
            SealedEntry(
                e.to_text(), b64url(course.ciphertexts[e.seq]) if course.ciphertexts[e.seq] else "",
                course.rules.certificates[e.signer].to_text(),
            )
            for e in course.rules.log
        ),
        grants=grants,
        signer_lists=(course.signer_list.to_text(),),
        pin_sets=(),
        certificates=(granter.certificate.to_text(),),
    )  # fmt: skip


def test_each_delegation_opens_the_sealed_record_into_the_readout_its_devices_export() -> None:
    course = Course().talks().seal()
    sealed = SealedRecord.from_json(sealed_of(course).to_json())
    assert course.rules is not None
    for delegation in (course.b, course.a):
        opened = open_sealed(sealed, delegation.key, course.pins)
        assert opened.sealed and opened.delegation == delegation.name
        assert opened.readout == export_readout(course.rules, course.statements, delegation.name)


def test_an_altered_text_or_a_dropped_entry_is_refused_naming_the_entry() -> None:
    course = Course().talks().seal()
    sealed = sealed_of(course)
    entries = list(sealed.entries)
    text = entries[2].ciphertext  # the first outcome's
    flipped = text[:-3] + ("B" if text[-3] == "A" else "A") + text[-2:]
    entries[2] = dataclasses.replace(entries[2], ciphertext=flipped)
    with pytest.raises(ValueError, match="entry 2"):
        open_sealed(dataclasses.replace(sealed, entries=tuple(entries)), course.b.key, course.pins)
    dropped = dataclasses.replace(sealed, entries=sealed.entries[:3] + sealed.entries[4:])
    with pytest.raises(ValueError, match="entry 4"):
        open_sealed(dropped, course.b.key, course.pins)


def test_without_a_grant_to_its_key_a_delegation_opens_nothing() -> None:
    course = Course().talks().seal()
    sealed = dataclasses.replace(sealed_of(course), grants=())
    with pytest.raises(ValueError, match="no grant of its key to this delegation"):
        open_sealed(sealed, course.b.key, course.pins)


def test_a_file_that_is_not_a_sealed_record_is_refused() -> None:
    for data in (b"{}", b"[", json.dumps({"format": "parley-readout-v1"}).encode()):
        with pytest.raises(ValueError, match=r"sealed record|JSON"):
            SealedRecord.from_json(data)
