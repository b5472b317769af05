"""The davey driver on its own, without the gateway: the child process, the wire format, the key
package davey answers an external sender package with, and the refusals Parley relies on."""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from davey_member import DaveyError, DaveyMember, ensure_davey_installed

pytestmark = pytest.mark.interop

USER_ID = 1090123456789012345  # above 2**53: ids must travel as decimal strings, not JS numbers
GROUP_ID = 77


@pytest.fixture(scope="module", autouse=True)
def _davey_installed() -> None:
    if shutil.which("node") is None:
        pytest.skip("node is not on PATH")
    ensure_davey_installed()


@pytest.fixture
def member() -> Iterator[DaveyMember]:
    with DaveyMember(USER_ID, GROUP_ID) as m:
        yield m


def _varint(n: int) -> bytes:
    """MLS variable-size vector length (RFC 9420 2.1.2), minimal encoding."""
    if n < 1 << 6:
        return n.to_bytes(1, "big")
    if n < 1 << 14:
        return (n | 0x4000).to_bytes(2, "big")
    return (n | 0x80000000).to_bytes(4, "big")


def _vector(data: bytes) -> bytes:
    return _varint(len(data)) + data


def _read_vector(data: bytes, pos: int) -> tuple[bytes, int]:
    prefix = data[pos] >> 6
    assert prefix < 3, "8-byte varints are not allowed in MLS"
    width = 1 << prefix
    length = int.from_bytes(data[pos : pos + width], "big") & ((1 << (8 * width - 2)) - 1)
    start = pos + width
    assert start + length <= len(data), "vector runs past the end"
    return data[start : start + length], start + length


def _server_frame(seq: int, opcode: int, payload: bytes) -> bytes:
    return seq.to_bytes(2, "big") + bytes([opcode]) + payload


def _external_sender_package() -> bytes:
    key = ec.generate_private_key(ec.SECP256R1()).public_key()
    point = key.public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    assert len(point) == 65
    # ExternalSender = signature_key<V> | Credential(u16 credential_type = 1 basic | identity<V>)
    return _vector(point) + (1).to_bytes(2, "big") + _vector(b"parley-gateway")


def test_starts_uninitialised_group(member: DaveyMember) -> None:
    state = member.state()
    assert state["status"] == "INACTIVE"
    assert state["epoch"] is None
    assert state["user_ids"] == []
    assert member.group_code() is None


def test_external_sender_package_gets_a_bare_key_package(member: DaveyMember) -> None:
    sent = member.receive_wire(_server_frame(1, 25, _external_sender_package()))
    assert len(sent) == 1
    frame = sent[0]
    assert isinstance(frame, bytes)
    assert frame[0] == 26
    kp = frame[1:]
    # A bare KeyPackage: u16 version = 1 (mls10), u16 cipher_suite = 2. An MLSMessage wrapper would
    # read 0x0001 0x0005 (wire_format mls_key_package) here instead.
    assert int.from_bytes(kp[0:2], "big") == 1
    assert int.from_bytes(kp[2:4], "big") == 2
    # init_key<V>, then the LeafNode: encryption_key<V>, signature_key<V>, basic credential whose
    # identity is the user id as 8 bytes big-endian -- what the gateway checks against the connection.
    _, pos = _read_vector(kp, 4)
    _, pos = _read_vector(kp, pos)
    signature_key, pos = _read_vector(kp, pos)
    assert len(signature_key) == 65 and signature_key[0] == 4
    assert int.from_bytes(kp[pos : pos + 2], "big") == 1
    identity, _ = _read_vector(kp, pos + 2)
    assert identity == USER_ID.to_bytes(8, "big")

    state = member.state()
    assert state["status"] == "PENDING"
    assert state["epoch"] == "0"


def test_unknown_opcodes_are_refused_and_the_member_keeps_working(member: DaveyMember) -> None:
    with pytest.raises(DaveyError, match="unknown binary opcode 99"):
        member.receive_wire(_server_frame(1, 99, b"\x00"))
    with pytest.raises(DaveyError, match="unknown JSON opcode 99"):
        member.receive_wire({"op": 99, "d": {}})
    assert member.receive_wire({"op": 11, "d": {"user_ids": ["5"]}}) == []
    assert member.state()["status"] == "INACTIVE"


def test_decrypting_garbage_gives_none(member: DaveyMember) -> None:
    member.receive_wire(_server_frame(1, 25, _external_sender_package()))
    assert member.decrypt(5, "audio", b"\xf8 not a DAVE frame") is None
    assert member.decrypt(5, "video", bytes(64)) is None
    assert member.state()["status"] == "PENDING"


def test_downgrade_to_unencrypted_is_refused_with_an_alarm(member: DaveyMember) -> None:
    # No ready_for_transition (23): the member never agrees to send in the clear.
    assert member.receive_wire({"op": 21, "d": {"transition_id": 7, "protocol_version": 0}}) == []
    assert len(member.alarms) == 1 and "downgrade" in member.alarms[0]
    member.receive_wire({"op": 22, "d": {"transition_id": 7}})
    assert len(member.alarms) == 2
    # A version-retaining transition is answered as usual.
    assert member.receive_wire({"op": 21, "d": {"transition_id": 8, "protocol_version": 1}}) == [
        {"op": 23, "d": {"transition_id": 8}}
    ]


def test_a_closed_member_raises_a_clear_error() -> None:
    m = DaveyMember(USER_ID, GROUP_ID)
    m.close()
    with pytest.raises(DaveyError, match="not running"):
        m.state()
