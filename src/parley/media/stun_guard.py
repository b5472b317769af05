"""A media packet mistaken for STUN must not escape into the event loop.

aioice reads every datagram on an ICE socket as STUN first, and takes it for STUN when its
length field matches. An SRTP packet whose bytes 2-3 happen to equal its length less 20 (one in
65,536) passes that test, then fails inside attribute parsing with `struct.error`, which aioice
does not catch (only `ValueError` means "not STUN, hand it on as media"): the exception escapes
from `datagram_received` into the event loop and the packet is lost. Seen in the suite: a
listener's call failed on it. A STUN message carries the magic cookie 0x2112A442 (RFC 5389,
section 6); `parse_message` here refuses a datagram without it, and any parsing failure, as
`ValueError`, so that aioice hands it on as media like any other non-STUN datagram.

`install()` puts it in aioice's place once; the SDK calls it before any peer connection exists.
"""

from __future__ import annotations

import struct

from aioice import stun

aioice_parse_message = stun.parse_message  # aioice's own, kept for the guard (and its test)
_HEADER = 20


def parse_message(data: bytes) -> stun.Message:
    if len(data) < _HEADER or struct.unpack_from("!I", data, 4)[0] != stun.COOKIE:
        raise ValueError("not a STUN message: no magic cookie")
    try:
        return aioice_parse_message(data)
    except struct.error as e:
        raise ValueError(f"not a STUN message: {e}") from None


def install() -> None:
    stun.parse_message = parse_message
