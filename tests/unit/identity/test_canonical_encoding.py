"""The byte form and text armour every identity document shares: one encoding per value, and a
text that names its kind, survives line wrapping, and refuses a second spelling of the same bytes."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from parley.identity.encoding import MAX_DOCUMENT, Reader, Writer, armour, split_signed, unarmour


@given(st.binary(min_size=1, max_size=300))
def test_armour_round_trips_any_bytes(data: bytes) -> None:
    assert unarmour("parley-test", armour("parley-test", data)) == data


def test_armour_names_its_kind_and_is_refused_as_another() -> None:
    text = armour("parley-certificate", b"\x01\x02\x03")
    assert text == "parley-certificate:AQID"
    with pytest.raises(ValueError, match="this is not a parley-pins"):
        unarmour("parley-pins", text)


def test_blanks_and_line_breaks_inside_the_text_are_ignored() -> None:
    assert unarmour("k", "  k:AQ\n ID \n") == b"\x01\x02\x03"


@pytest.mark.parametrize("payload", ["", "AQ=", "A", "AQ+D", "AQ/D", "AR"])
def test_padding_other_alphabets_and_second_spellings_are_refused(payload: str) -> None:
    # "AR" decodes to the same byte as "AQ": its stray low bits would give one document two texts.
    with pytest.raises(ValueError, match="base64url after the colon"):
        unarmour("k", f"k:{payload}")


def test_a_text_longer_than_any_document_is_refused_unread() -> None:
    with pytest.raises(ValueError, match=f"at most {MAX_DOCUMENT} bytes"):
        unarmour("k", "k:" + "A" * (MAX_DOCUMENT * 2))


def test_a_signed_document_is_its_body_then_sixty_four_bytes() -> None:
    assert split_signed(b"body" + bytes(64)) == (b"body", bytes(64))
    with pytest.raises(ValueError, match="too short to hold a signature"):
        split_signed(bytes(64))


@given(st.integers(0, 255), st.integers(0, 0xFFFF), st.integers(0, (1 << 64) - 1), st.text(max_size=40))
def test_fields_read_back_as_written(a: int, b: int, c: int, text: str) -> None:
    try:
        written = Writer().u8(a).u16(b).u64(c).text(text).bytes()
    except UnicodeEncodeError:  # lone surrogates are not text
        return
    reader = Reader(written)
    assert (reader.u8("a"), reader.u16("b"), reader.u64("c"), reader.text("d")) == (a, b, c, text)
    reader.end()


def test_text_that_is_not_utf8_is_refused() -> None:
    with pytest.raises(ValueError, match="d: not UTF-8"):
        Reader(b"\x00\x01\xff").text("d")
