"""A datagram that aioice would take for STUN by its length alone is handed on as media."""

from __future__ import annotations

import struct

import pytest
from aioice import stun

from parley.media.stun_guard import aioice_parse_message, install, parse_message


def _media_packet_with_a_matching_length() -> bytes:
    """An SRTP-like packet whose bytes 2-3 say "length - 20": aioice's own check passes it, and
    a PRIORITY attribute then holds 0 bytes instead of 4."""
    body = bytes([0xD6, 0xBF]) + struct.pack("!H", 28) + bytes(range(16)) + b"\x00\x24\x00\x00" + bytes(24)
    assert len(body) == 20 + 28
    return body


def test_aioice_alone_lets_struct_error_escape_on_such_a_packet() -> None:
    """Why the guard exists: if aioice ever refuses it as ValueError itself, the guard can go."""
    with pytest.raises(struct.error):
        aioice_parse_message(_media_packet_with_a_matching_length())


def test_the_guard_refuses_it_as_not_stun_and_reads_real_stun_as_before() -> None:
    with pytest.raises(ValueError, match="not a STUN message"):
        parse_message(_media_packet_with_a_matching_length())
    request = stun.Message(message_method=stun.Method.BINDING, message_class=stun.Class.REQUEST)
    request.attributes["PRIORITY"] = 1234
    parsed = parse_message(bytes(request))
    assert parsed.transaction_id == request.transaction_id and parsed.attributes["PRIORITY"] == 1234


def test_install_puts_the_guard_where_aioice_looks() -> None:
    install()
    assert stun.parse_message is parse_message
