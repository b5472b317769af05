"""A summit's record as the store keeps it (docs/record.md): what the room reads back when it opens."""

from __future__ import annotations

from dataclasses import dataclass

from parley.protocol.codes import RecordState


@dataclass(frozen=True)
class KeptEntry:
    """An entry as kept: its text form, its encrypted statement ("" for none), its signer's certificate."""

    seq: int
    entry: str
    ciphertext: str
    certificate: str


@dataclass(frozen=True)
class KeptRecord:
    entries: tuple[KeptEntry, ...] = ()
    grants: tuple[str, ...] = ()
    signer_lists: tuple[str, ...] = ()
    state: RecordState = RecordState.OPEN


NO_RECORD = KeptRecord()  # a summit that has kept nothing yet
