"""The one canonical byte form of every signed identity document, and its text armour.

A signature is over bytes, so two parties that must agree on a signature must agree on the
bytes: each document has exactly one encoding, and a decoder accepts only that one (it decodes,
re-encodes, and refuses anything that does not come back byte for byte). The form is chosen to
be written by hand in TypeScript as easily as in Python, with no library: big-endian integers
and length-prefixed fields, in a fixed order, no optional parts, no padding.

- `u8`, `u16`, `u64`: unsigned, big-endian, 1, 2 or 8 bytes.
- `opaque`: `u16 length || bytes`.
- `text`: `opaque` holding UTF-8; names are NFC (`parley.protocol.fields.check_name` unchanged).
- lists: `u8 count || items` (or `u16 count` where a document says so).

What is signed is `label || body`, where the label names the kind of document and its version
(`b"parley device certificate v1\\x00"`, ...): a signature made for one kind of document can
never be read as another's. The signed document on the wire is `body || signature`, the signature
at a fixed length at the end (64 bytes: Ed25519, or P-256 ECDSA as `r || s`).

Text armour, for a person to copy, paste or send: `<kind>:<base64url of body || signature>`,
no padding, e.g. `parley-certificate:AQAQ...`.
"""

from __future__ import annotations

import abc
import struct
from collections.abc import Sequence
from typing import ClassVar, Self

from parley.identity.problems import IdentityError, Problem
from parley.protocol.fields import b64url, unb64url

SIGNATURE_SIZE = 64  # Ed25519 signatures, and P-256 ECDSA signatures as r || s
MAX_OPAQUE = 0xFFFF
MAX_DOCUMENT = 16 * 1024  # a certificate is ~300 bytes; a pin set of 200 delegations ~12 KiB
_BASE64URL = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


class Writer:
    """Builds a body field by field, in the order its document's docstring gives."""

    def __init__(self) -> None:
        self._parts: list[bytes] = []

    def u8(self, value: int) -> Writer:
        self._parts.append(struct.pack(">B", value))
        return self

    def u16(self, value: int) -> Writer:
        self._parts.append(struct.pack(">H", value))
        return self

    def u64(self, value: int) -> Writer:
        self._parts.append(struct.pack(">Q", value))
        return self

    def opaque(self, value: bytes) -> Writer:
        if len(value) > MAX_OPAQUE:
            raise ValueError("a field holds at most 65535 bytes")
        self.u16(len(value))
        self._parts.append(value)
        return self

    def text(self, value: str) -> Writer:
        return self.opaque(value.encode("utf-8"))

    def texts(self, values: Sequence[str]) -> Writer:
        self.u8(len(values))
        for value in values:
            self.text(value)
        return self

    def bytes(self) -> bytes:
        return b"".join(self._parts)


class Reader:
    """Reads a body back; every short read or stray byte is a ValueError naming the field."""

    def __init__(self, data: bytes) -> None:
        self._data = data
        self._at = 0

    def _take(self, n: int, what: str) -> bytes:
        if self._at + n > len(self._data):
            raise ValueError(f"{what}: the document ends too soon")
        chunk = self._data[self._at : self._at + n]
        self._at += n
        return chunk

    def u8(self, what: str) -> int:
        value: int = struct.unpack(">B", self._take(1, what))[0]
        return value

    def u16(self, what: str) -> int:
        value: int = struct.unpack(">H", self._take(2, what))[0]
        return value

    def u64(self, what: str) -> int:
        value: int = struct.unpack(">Q", self._take(8, what))[0]
        return value

    def opaque(self, what: str) -> bytes:
        return self._take(self.u16(what), what)

    def text(self, what: str) -> str:
        try:
            return self.opaque(what).decode("utf-8")
        except UnicodeDecodeError:
            raise ValueError(f"{what}: not UTF-8") from None

    def texts(self, what: str) -> list[str]:
        return [self.text(what) for _ in range(self.u8(what))]

    def end(self) -> None:
        if self._at != len(self._data):
            raise ValueError("the document has bytes after its last field")


def split_signed(data: bytes) -> tuple[bytes, bytes]:
    """`body || signature` -> (body, signature)."""
    if len(data) > MAX_DOCUMENT:
        raise ValueError(f"a signed document has at most {MAX_DOCUMENT} bytes")
    if len(data) <= SIGNATURE_SIZE:
        raise ValueError("the document is too short to hold a signature")
    return data[:-SIGNATURE_SIZE], data[-SIGNATURE_SIZE:]


def armour(kind: str, data: bytes) -> str:
    return f"{kind}:{b64url(data)}"


def unarmour(kind: str, text: str) -> bytes:
    """The bytes of `<kind>:<base64url>`; surrounding blanks and line breaks inside are ignored
    (a terminal or a mail wraps long lines)."""
    compact = "".join(text.split())
    prefix, sep, payload = compact.partition(":")
    if not sep or prefix != kind:
        raise ValueError(f"this is not a {kind} (it should start with '{kind}:')")
    if not payload or not set(payload) <= _BASE64URL or len(payload) % 4 == 1:
        raise ValueError(f"a {kind} is base64url after the colon")
    if len(payload) > MAX_DOCUMENT * 4 // 3 + 4:
        raise ValueError(f"a {kind} has at most {MAX_DOCUMENT} bytes")
    data = unb64url(payload)
    if b64url(data) != payload:  # stray low bits in the last character: another text, same bytes
        raise ValueError(f"a {kind} is base64url after the colon")
    return data


class SignedDocument(abc.ABC):
    """What every signed document shares: `body() || signature` in bytes, `<KIND>:<base64url>` as
    text, and a parser that accepts the canonical form only and refuses anything else as
    `Problem.MALFORMED`. Subclasses are frozen dataclasses with a `signature` field; each gives its
    body (its version byte first) and reads its fields after the version byte."""

    KIND: ClassVar[str]  # the text form's prefix, e.g. "parley-certificate"
    VERSION: ClassVar[int] = 1
    signature: bytes

    @abc.abstractmethod
    def body(self) -> bytes: ...

    @classmethod
    @abc.abstractmethod
    def read_fields(cls, reader: Reader, signature: bytes) -> Self:
        """The document from its fields after the version byte, and its signature."""

    def check_signature_size(self) -> None:
        if len(self.signature) != SIGNATURE_SIZE:
            raise ValueError(f"a signature is {SIGNATURE_SIZE} bytes")

    def to_bytes(self) -> bytes:
        return self.body() + self.signature

    def to_text(self) -> str:
        return armour(self.KIND, self.to_bytes())

    @classmethod
    def from_bytes(cls, data: bytes) -> Self:
        """Parse; whether the document is authentic, and good here, is for its verifier to say."""
        try:
            body, signature = split_signed(data)
            reader = Reader(body)
            if reader.u8("version") != cls.VERSION:
                raise ValueError(f"not version {cls.VERSION}")
            document = cls.read_fields(reader, signature)
            reader.end()
            # One byte form per document: what does not encode back to the same bytes is refused.
            if document.body() != body:
                raise ValueError("the document is not in its canonical form")
            return document
        except ValueError as e:
            raise IdentityError(Problem.MALFORMED, f"a {cls.KIND} that does not parse: {e}") from None

    @classmethod
    def from_text(cls, text: str) -> Self:
        try:
            data = unarmour(cls.KIND, text)
        except ValueError as e:
            raise IdentityError(Problem.MALFORMED, str(e)) from None
        return cls.from_bytes(data)
