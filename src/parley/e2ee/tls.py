"""TLS presentation language as MLS uses it (RFC 9420 section 2.1): fixed-width integers and
variable-length vectors whose length is a QUIC-style varint.

Every read is bounded: a vector longer than the caller's limit, a length that is not minimally
encoded, or data that ends early raises `DecodeError` before anything is allocated for it. The
gateway parses bytes from the network with these readers, so nothing here trusts a length field.
"""

from __future__ import annotations

__all__ = ["DecodeError", "Reader", "Writer", "encode_varint"]

# RFC 9420 2.1.2: lengths use the 1, 2 and 4 byte forms only; the 8-byte prefix (0b11) is invalid.
_VARINT_MAX = (1 << 30) - 1


class DecodeError(ValueError):
    """Bytes from a peer do not follow the wire format; the message names the rule broken."""


def encode_varint(value: int) -> bytes:
    """Minimal MLS varint for `value` (0 <= value < 2**30)."""
    if value < 0 or value > _VARINT_MAX:
        raise ValueError(f"varint value {value} is out of range")
    if value < 1 << 6:
        return value.to_bytes(1, "big")
    if value < 1 << 14:
        return (value | 0x4000).to_bytes(2, "big")
    return (value | 0x80000000).to_bytes(4, "big")


class Reader:
    """Reads TLS-encoded fields from a byte string, front to back."""

    def __init__(self, data: bytes) -> None:
        self._data = memoryview(data)
        self._pos = 0

    @property
    def remaining(self) -> int:
        return len(self._data) - self._pos

    @property
    def position(self) -> int:
        return self._pos

    def since(self, start: int) -> bytes:
        """The bytes read from `start` (an earlier `position`) up to here: a struct's encoding."""
        return bytes(self._data[start : self._pos])

    def at_end(self) -> bool:
        return self._pos == len(self._data)

    def expect_end(self, what: str) -> None:
        """Refuse trailing bytes: a struct must use exactly the bytes it was given."""
        if not self.at_end():
            raise DecodeError(f"{what}: {self.remaining} unexpected trailing bytes")

    def raw(self, n: int, what: str = "field") -> bytes:
        if n < 0 or n > self.remaining:
            raise DecodeError(f"{what}: needs {n} bytes, {self.remaining} left")
        start = self._pos
        self._pos += n
        return bytes(self._data[start : self._pos])

    def rest(self) -> bytes:
        return self.raw(self.remaining)

    def _uint(self, width: int, what: str) -> int:
        return int.from_bytes(self.raw(width, what), "big")

    def u8(self, what: str = "u8") -> int:
        return self._uint(1, what)

    def u16(self, what: str = "u16") -> int:
        return self._uint(2, what)

    def u32(self, what: str = "u32") -> int:
        return self._uint(4, what)

    def u64(self, what: str = "u64") -> int:
        return self._uint(8, what)

    def varint(self, what: str = "length") -> int:
        first = self.u8(what)
        prefix = first >> 6
        if prefix == 0:
            return first
        if prefix == 3:
            raise DecodeError(f"{what}: 8-byte varint is not allowed in MLS")
        width = 2 if prefix == 1 else 4
        value = int.from_bytes(bytes([first & 0x3F]) + self.raw(width - 1, what), "big")
        if encode_varint(value) != bytes([first]) + bytes(self._data[self._pos - width + 1 : self._pos]):
            raise DecodeError(f"{what}: varint is not minimally encoded")
        return value

    def vector(self, limit: int, what: str = "vector") -> bytes:
        """An `opaque field<V>` of at most `limit` bytes."""
        length = self.varint(what)
        if length > limit:
            raise DecodeError(f"{what}: length {length} exceeds the limit of {limit} bytes")
        return self.raw(length, what)

    def sub(self, limit: int, what: str = "vector") -> Reader:
        """A reader over the body of a vector of structs, to be read until `at_end()`."""
        return Reader(self.vector(limit, what))


class Writer:
    """Builds TLS-encoded bytes; the counterpart of `Reader`."""

    def __init__(self) -> None:
        self._parts: list[bytes] = []

    def raw(self, data: bytes) -> Writer:
        self._parts.append(bytes(data))
        return self

    def u8(self, value: int) -> Writer:
        return self.raw(value.to_bytes(1, "big"))

    def u16(self, value: int) -> Writer:
        return self.raw(value.to_bytes(2, "big"))

    def u32(self, value: int) -> Writer:
        return self.raw(value.to_bytes(4, "big"))

    def u64(self, value: int) -> Writer:
        return self.raw(value.to_bytes(8, "big"))

    def vector(self, data: bytes) -> Writer:
        return self.raw(encode_varint(len(data))).raw(data)

    def getvalue(self) -> bytes:
        return b"".join(self._parts)
