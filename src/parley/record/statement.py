"""A statement: the plaintext of a position, outcome, action or decline's reason.

The log carries only its commitment (in the signed entry) and its ciphertext (beside it), so the
server can neither read a statement nor swap one: a reader decrypts, decodes, and holds the
statement's commitment against the one the signer signed. The salt makes the commitment reveal
nothing, not even whether a guessed text is the one written. Canonical encoding (docs/record.md):

    u8     version = 1
    opaque salt        32 random bytes
    text   text        1 to 4000 bytes of UTF-8, NFC
    text   owner       an action's owner ("" otherwise), at most 200 bytes, NFC
    text   due         an action's due date as written ("" otherwise), at most 100 bytes, NFC

`commitment = SHA-256("parley record statement v1" || 0x00 || statement)`.
"""

from __future__ import annotations

import hashlib
import secrets
import unicodedata
from dataclasses import dataclass

from parley.identity.encoding import Reader, Writer

VERSION = 1
LABEL = b"parley record statement v1\x00"
SALT_SIZE = 32
MAX_TEXT, MAX_OWNER, MAX_DUE = 4000, 200, 100  # bytes of UTF-8


@dataclass(frozen=True)
class Statement:
    salt: bytes
    text: str
    owner: str
    due: str

    def __post_init__(self) -> None:
        if len(self.salt) != SALT_SIZE:
            raise ValueError(f"a statement's salt is {SALT_SIZE} bytes")
        for what, value, low, high in (
            ("text", self.text, 1, MAX_TEXT),
            ("owner", self.owner, 0, MAX_OWNER),
            ("due date", self.due, 0, MAX_DUE),
        ):
            if not low <= len(value.encode("utf-8")) <= high:
                raise ValueError(f"a statement's {what} is {low} to {high} bytes of UTF-8")
            if unicodedata.normalize("NFC", value) != value:
                raise ValueError(f"a statement's {what} must be NFC")

    @classmethod
    def new(cls, text: str, owner: str = "", due: str = "") -> Statement:
        """A statement as a person wrote it (normalized to NFC), with a fresh salt."""
        return cls(
            secrets.token_bytes(SALT_SIZE),
            unicodedata.normalize("NFC", text),
            unicodedata.normalize("NFC", owner),
            unicodedata.normalize("NFC", due),
        )

    def encode(self) -> bytes:
        return Writer().u8(VERSION).opaque(self.salt).text(self.text).text(self.owner).text(self.due).bytes()

    @classmethod
    def decode(cls, data: bytes) -> Statement:
        """The statement of its one canonical encoding; ValueError for anything else."""
        reader = Reader(data)
        if reader.u8("version") != VERSION:
            raise ValueError(f"a statement of version {VERSION} only")
        statement = cls(reader.opaque("salt"), reader.text("text"), reader.text("owner"), reader.text("due"))
        reader.end()
        if statement.encode() != data:
            raise ValueError("the statement is not in its canonical form")
        return statement

    def commitment(self) -> bytes:
        return hashlib.sha256(LABEL + self.encode()).digest()
