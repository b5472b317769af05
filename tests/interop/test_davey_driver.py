"""The page's DAVE member under Node on its own, without the gateway: the child process, the wire
format, the key package it answers an external sender package with, and the refusals Parley
relies on."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from davey_member import DaveyError, DaveyMember, davey_installed  # noqa: F401 - a fixture

from parley.e2ee import mls_wire
from parley.e2ee.opcodes import ExternalSenderPackage, Op, ReadyForTransition, encode_server_binary

pytestmark = [pytest.mark.interop, pytest.mark.usefixtures("davey_installed")]

USER_ID = 1090123456789012345  # above 2**53: ids must travel as decimal strings, not JS numbers
GROUP_ID = 77


@pytest.fixture
def member() -> Iterator[DaveyMember]:
    with DaveyMember(USER_ID, GROUP_ID) as m:
        yield m


def _external_sender_package() -> bytes:
    key = mls_wire.public_key_bytes(ec.generate_private_key(ec.SECP256R1()))
    return encode_server_binary(1, ExternalSenderPackage(mls_wire.external_sender(key, b"parley-gateway")))


def test_starts_uninitialised_group(member: DaveyMember) -> None:
    state = member.state()
    assert state["status"] == "INACTIVE"
    assert state["epoch"] is None
    assert state["user_ids"] == []
    assert member.group_code() is None


def test_external_sender_package_gets_a_bare_key_package(member: DaveyMember) -> None:
    sent = member.receive_wire(_external_sender_package())
    assert len(sent) == 1
    frame = sent[0]
    assert isinstance(frame, bytes) and frame[0] == Op.KEY_PACKAGE
    # A bare KeyPackage (an MLSMessage wrapper would start 0x0001 0x0005), signed, for this user id:
    # exactly what the gateway checks against the connection.
    kp = mls_wire.KeyPackage.parse(frame[1:])
    assert kp.cipher_suite == 2 and kp.signatures_valid()
    assert kp.leaf_node.identity == USER_ID.to_bytes(8, "big")

    state = member.state()
    assert state["status"] == "PENDING"
    assert state["epoch"] == "0"


def test_unknown_opcodes_are_refused_and_the_member_keeps_working(member: DaveyMember) -> None:
    with pytest.raises(DaveyError, match="unknown binary opcode 99"):
        member.receive_wire(b"\x00\x01\x63\x00")
    with pytest.raises(DaveyError, match="unknown JSON opcode 99"):
        member.receive_wire({"op": 99, "d": {}})
    assert member.receive_wire({"op": 11, "d": {"user_ids": ["5"]}}) == []
    assert member.state()["status"] == "INACTIVE"


def test_decrypting_garbage_gives_none(member: DaveyMember) -> None:
    member.receive_wire(_external_sender_package())
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
        ReadyForTransition(8).to_json()
    ]


def test_a_closed_member_raises_a_clear_error() -> None:
    m = DaveyMember(USER_ID, GROUP_ID)
    m.close()
    with pytest.raises(DaveyError, match="not running"):
        m.state()
