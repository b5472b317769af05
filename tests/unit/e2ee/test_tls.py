"""TLS presentation syntax: varints, vectors and their limits."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from parley.e2ee.tls import DecodeError, Reader, Writer, encode_varint


@pytest.mark.parametrize(
    ("value", "encoded"),
    [(0, "00"), (63, "3f"), (64, "4040"), (16383, "7fff"), (16384, "80004000"), ((1 << 30) - 1, "bfffffff")],
)
def test_varint_uses_the_shortest_form(value: int, encoded: str) -> None:
    assert encode_varint(value).hex() == encoded
    assert Reader(bytes.fromhex(encoded)).varint() == value


@pytest.mark.parametrize("encoded", ["4001", "80000001", "80003fff"])
def test_varint_that_is_not_minimal_is_refused(encoded: str) -> None:
    with pytest.raises(DecodeError, match="minimally"):
        Reader(bytes.fromhex(encoded)).varint()


def test_eight_byte_varint_is_refused() -> None:
    with pytest.raises(DecodeError, match="8-byte"):
        Reader(bytes.fromhex("c000000000000001")).varint()


def test_varint_out_of_range_cannot_be_written() -> None:
    with pytest.raises(ValueError, match="out of range"):
        encode_varint(1 << 30)


def test_vector_over_its_limit_is_refused_before_reading() -> None:
    data = Writer().vector(bytes(100)).getvalue()
    with pytest.raises(DecodeError, match="exceeds the limit of 99"):
        Reader(data).vector(99, "thing")
    assert Reader(data).vector(100) == bytes(100)


def test_vector_longer_than_the_data_is_refused() -> None:
    with pytest.raises(DecodeError, match="needs 10 bytes, 3 left"):
        Reader(b"\x0a abc"[:1] + b"abc").vector(100, "field")


def test_trailing_bytes_are_refused() -> None:
    r = Reader(b"\x00\x01\x02")
    r.u16()
    with pytest.raises(DecodeError, match="1 unexpected trailing bytes"):
        r.expect_end("struct")


@given(st.binary(max_size=2000))
def test_vectors_round_trip(data: bytes) -> None:
    encoded = Writer().vector(data).u64(7).getvalue()
    r = Reader(encoded)
    assert r.vector(len(data)) == data and r.u64() == 7 and r.at_end()


@given(st.binary(max_size=64))
def test_random_bytes_give_values_or_decode_errors(data: bytes) -> None:
    r = Reader(data)
    try:
        while not r.at_end():
            r.vector(32)
    except DecodeError:
        pass
