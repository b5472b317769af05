"""An entry of the record's log, signed by the device of a signer of its delegation.

ECDSA P-256 SHA-256 (`r || s`) with the DAVE signature key the signer's certificate names, over
`"parley record entry v1" || 0x00 || body` (docs/record.md, "Entry"):

    u8     version = 1
    text   summit_id
    u64    seq          its position in the log, from 0
    opaque prev         32 bytes: the hash of entry seq - 1; zeros for seq 0
    u8     kind         EntryKind
    opaque refers       32 bytes: the outcome it amends, signs or declines, or the head a seal
                        seals; zeros when it refers to nothing
    opaque commitment   32 bytes: its statement's commitment; zeros for sign and seal
    opaque key_id       16 bytes: the summit's record key (parley.record.keys)
    u64    epoch        the DAVE epoch the writer was in
    u64    time         Unix milliseconds at the writer
    opaque signer       16 bytes: the serial of the signer's certificate

`hash = SHA-256(body || signature)`: what the next entry's `prev`, a sign's `refers` and a head
name.
"""

from __future__ import annotations

import enum
import hashlib
from dataclasses import dataclass

from parley.identity.attestation import DeviceSigner
from parley.identity.encoding import Reader, SignedDocument, Writer
from parley.identity.revocation import SERIAL_SIZE
from parley.protocol.fields import verify_key_proof

LABEL = b"parley record entry v1\x00"
HASH_SIZE = 32
KEY_ID_SIZE = 16
ZERO32 = bytes(HASH_SIZE)
_U64 = 1 << 64


class EntryKind(enum.IntEnum):
    POSITION = 1
    OUTCOME = 2
    ACTION = 3
    SIGN = 4
    DECLINE = 5
    SEAL = 6

    @property
    def has_text(self) -> bool:
        """Whether an entry of this kind carries a statement (its ciphertext, its commitment)."""
        return self not in (EntryKind.SIGN, EntryKind.SEAL)

    @property
    def label(self) -> str:
        """Its name in a readout: "position", "outcome", ..."""
        return self.name.lower()


@dataclass(frozen=True)
class RecordEntry(SignedDocument):
    KIND = "parley-record-entry"

    summit_id: str
    seq: int
    prev: bytes
    kind: EntryKind
    refers: bytes
    commitment: bytes
    key_id: bytes
    epoch: int
    time: int
    signer: bytes
    signature: bytes

    def __post_init__(self) -> None:
        if not all(0 <= n < _U64 for n in (self.seq, self.epoch, self.time)):
            raise ValueError("seq, epoch and time are u64")
        if not all(len(h) == HASH_SIZE for h in (self.prev, self.refers, self.commitment)):
            raise ValueError(f"prev, refers and commitment are {HASH_SIZE} bytes")
        if len(self.key_id) != KEY_ID_SIZE or len(self.signer) != SERIAL_SIZE:
            raise ValueError(f"a key id is {KEY_ID_SIZE} bytes, a signer's serial {SERIAL_SIZE}")
        if not isinstance(self.kind, EntryKind):
            raise ValueError("an entry's kind is 1 to 6")
        self.check_signature_size()

    def body(self) -> bytes:
        return (
            Writer()
            .u8(self.VERSION)
            .text(self.summit_id)
            .u64(self.seq)
            .opaque(self.prev)
            .u8(self.kind)
            .opaque(self.refers)
            .opaque(self.commitment)
            .opaque(self.key_id)
            .u64(self.epoch)
            .u64(self.time)
            .opaque(self.signer)
            .bytes()
        )

    @classmethod
    def read_fields(cls, reader: Reader, signature: bytes) -> RecordEntry:
        summit_id, seq, prev = reader.text("summit"), reader.u64("seq"), reader.opaque("prev")
        kind_number = reader.u8("kind")
        try:
            kind = EntryKind(kind_number)
        except ValueError:
            raise ValueError(f"no entry kind {kind_number}") from None
        refers, commitment, key_id = (
            reader.opaque("refers"),
            reader.opaque("commitment"),
            reader.opaque("key id"),
        )
        epoch, time, signer = reader.u64("epoch"), reader.u64("time"), reader.opaque("signer")
        return cls(summit_id, seq, prev, kind, refers, commitment, key_id, epoch, time, signer, signature)

    def hash(self) -> bytes:
        return hashlib.sha256(self.to_bytes()).digest()

    def verify(self, device_key: bytes) -> bool:
        """Whether the device key (65-byte P-256 point) its certificate names made this entry."""
        try:
            return verify_key_proof(device_key, LABEL + self.body(), self.signature)
        except ValueError:  # not a point on P-256
            return False

    def describe(self) -> str:
        """For alarms and errors: which entry, without its (secret) text."""
        return f"entry {self.seq} ({self.kind.label})"


def write_entry(
    sign: DeviceSigner,
    *,
    summit_id: str,
    seq: int,
    prev: bytes,
    kind: EntryKind,
    refers: bytes,
    commitment: bytes,
    key_id: bytes,
    epoch: int,
    time: int,
    signer: bytes,
) -> RecordEntry:
    """An entry signed by this device's DAVE key (parley.sdk.identity.sign)."""
    unsigned = RecordEntry(
        summit_id, seq, prev, kind, refers, commitment, key_id, epoch, time, signer, bytes(64)
    )
    return RecordEntry(
        summit_id,
        seq,
        prev,
        kind,
        refers,
        commitment,
        key_id,
        epoch,
        time,
        signer,
        sign(LABEL + unsigned.body()),
    )
