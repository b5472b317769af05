"""A member's signed word of which log it holds, sent after every entry it accepts.

Every other member holds it against its own log: a head longer than its own that it does not
catch up with is a dropped entry, another hash at a length it holds is a fork (parley.record.view).
ECDSA P-256 by the member's device key over `"parley record head v1" || 0x00 || body`:

    u8     version = 1
    text   summit_id
    u64    length        how many entries it holds
    opaque head          32 bytes: the hash of its last entry (zeros when empty)
    u64    user_id       the member speaking
"""

from __future__ import annotations

from dataclasses import dataclass

from parley.identity.attestation import DeviceSigner
from parley.identity.encoding import Reader, SignedDocument, Writer
from parley.protocol.fields import MAX_SAFE, verify_key_proof
from parley.record.entry import HASH_SIZE, ZERO32

LABEL = b"parley record head v1\x00"


@dataclass(frozen=True)
class RecordHead(SignedDocument):
    KIND = "parley-record-head"

    summit_id: str
    length: int
    head: bytes
    user_id: int
    signature: bytes

    def __post_init__(self) -> None:
        if not 0 <= self.length < 1 << 64 or not 1 <= self.user_id < MAX_SAFE:
            raise ValueError("a length is a u64, a user id from 1 to 2^53 - 1")
        if len(self.head) != HASH_SIZE or (self.length == 0) != (self.head == ZERO32):
            raise ValueError(f"a head is {HASH_SIZE} bytes, zeros exactly when the log is empty")
        self.check_signature_size()

    def body(self) -> bytes:
        return _body(self.summit_id, self.length, self.head, self.user_id)

    @classmethod
    def read_fields(cls, reader: Reader, signature: bytes) -> RecordHead:
        summit_id, length = reader.text("summit"), reader.u64("length")
        return cls(summit_id, length, reader.opaque("head"), reader.u64("user id"), signature)

    def verify(self, device_key: bytes) -> bool:
        """Whether the member's device key (65-byte P-256 point) made this head."""
        try:
            return verify_key_proof(device_key, LABEL + self.body(), self.signature)
        except ValueError:
            return False


def _body(summit_id: str, length: int, head: bytes, user_id: int) -> bytes:
    return Writer().u8(RecordHead.VERSION).text(summit_id).u64(length).opaque(head).u64(user_id).bytes()


def sign_head(sign: DeviceSigner, summit_id: str, length: int, head: bytes, user_id: int) -> RecordHead:
    """This device's head, signed by its DAVE key."""
    return RecordHead(summit_id, length, head, user_id, sign(LABEL + _body(summit_id, length, head, user_id)))
