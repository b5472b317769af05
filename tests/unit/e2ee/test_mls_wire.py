"""MLS structures against real ones made by libdave (dave.py), and random bytes to every parser."""

from __future__ import annotations

import contextlib
from collections.abc import Callable

import dave
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from hypothesis import given, settings
from hypothesis import strategies as st
from support import CHANNEL_ID, dave_members, hold_commits, join, new_group

from parley.e2ee import mls_wire
from parley.e2ee.mls_wire import Add, FramedPublicMessage, KeyPackage, Remove, SenderType, Welcome
from parley.e2ee.opcodes import (
    CommitWelcome,
    decode_client_binary,
    decode_server_binary,
)
from parley.e2ee.tls import DecodeError, Reader
from parley.protocol.base import ProtocolError
from parley.protocol.dave_ops import parse_dave_device_op, parse_dave_server_op


def libdave_key_package(user_id: int) -> bytes:
    gateway_key = ec.generate_private_key(ec.SECP256R1())
    session = dave.Session()
    session.init(1, CHANNEL_ID, str(user_id))
    session.set_external_sender(mls_wire.external_sender(mls_wire.public_key_bytes(gateway_key), b"gw"))
    kp = session.get_marshalled_key_package()
    assert kp is not None
    return kp


def test_libdave_key_package_parses_and_verifies() -> None:
    encoded = libdave_key_package(1234)
    kp = KeyPackage.parse(encoded)
    assert kp.encoded == encoded
    assert kp.cipher_suite == 2
    assert kp.leaf_node.identity == (1234).to_bytes(8, "big")
    assert (kp.leaf_node.not_before, kp.leaf_node.not_after) == (0, mls_wire.LIFETIME_MAX)
    assert len(kp.leaf_node.signature_key) == 65
    assert kp.signatures_valid()
    assert len(kp.ref()) == 32


def test_external_proposal_is_signed_by_the_gateway_key_and_references_itself() -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    group = CHANNEL_ID.to_bytes(8, "big")
    kp = KeyPackage.parse(libdave_key_package(5))
    add = mls_wire.external_proposal(key, group, 3, Add(kp))
    remove = mls_wire.external_proposal(key, group, 3, Remove(2))
    assert (add.sender_type, add.sender_index, add.epoch, add.group_id) == (SenderType.EXTERNAL, 0, 3, group)
    assert isinstance(add.body, Add) and add.body.key_package.encoded == kp.encoded
    assert remove.body == Remove(2)
    assert add.proposal_ref() != remove.proposal_ref() and len(add.proposal_ref()) == 32
    # the round trip through bytes is exact
    assert FramedPublicMessage.parse(add.encoded) == add


def test_commit_and_welcome_from_a_real_group_parse_and_split() -> None:
    _gateway, link = new_group()
    a, b, c, d = dave_members(1, 2, 3, 4)
    join(link, a, b)
    link.join(c)
    link.join(d)
    held = hold_commits(link)
    op = decode_client_binary(held[1])
    assert isinstance(op, CommitWelcome)
    commit, welcome = op.commit, op.welcome
    assert isinstance(commit.body, mls_wire.Commit) and len(commit.body.proposal_refs) == 2
    assert welcome is not None and len(welcome.secrets) == 2
    assert Welcome.parse(welcome.encode()) == welcome
    for ref, _ in welcome.secrets:
        only = welcome.for_member(ref)
        assert [r for r, _ in only.secrets] == [ref]
        assert only.encrypted_group_info == welcome.encrypted_group_info


def test_leaf_signature_check_fails_for_a_changed_byte() -> None:
    kp = KeyPackage.parse(libdave_key_package(9))
    assert mls_wire.verify_with_label(
        kp.leaf_node.signature_key, "LeafNodeTBS", kp.leaf_node.tbs_prefix, kp.leaf_node.signature
    )
    assert not mls_wire.verify_with_label(
        kp.leaf_node.signature_key, "KeyPackageTBS", kp.leaf_node.tbs_prefix, kp.leaf_node.signature
    )
    assert not mls_wire.verify_with_label(
        b"\x04" + bytes(64), "LeafNodeTBS", kp.leaf_node.tbs_prefix, kp.leaf_node.signature
    )


@pytest.mark.parametrize("cut", range(0, 300, 7))
def test_every_prefix_of_a_key_package_is_refused(cut: int) -> None:
    encoded = libdave_key_package(77)
    with pytest.raises(DecodeError):
        KeyPackage.parse(encoded[:cut])


def read_varint(data: bytes) -> int:
    return Reader(data).varint()


PARSERS: list[Callable[[bytes], object]] = [
    KeyPackage.parse,
    FramedPublicMessage.parse,
    Welcome.parse,
    decode_client_binary,
    decode_server_binary,
    read_varint,
]


@settings(max_examples=500, deadline=None)
@given(data=st.binary(max_size=600), which=st.integers(0, len(PARSERS) - 1))
def test_random_bytes_to_every_parser_give_a_value_or_a_decode_error(data: bytes, which: int) -> None:
    with contextlib.suppress(DecodeError):
        PARSERS[which](data)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=16), inner, max_size=4),
    max_leaves=12,
)


@settings(max_examples=300, deadline=None)
@given(
    op=st.integers(-1, 40) | json_values,
    d=json_values | st.fixed_dictionaries({"transition_id": json_values}),
)
def test_random_json_ops_give_a_value_or_a_protocol_error(op: object, d: object) -> None:
    for parse in (parse_dave_device_op, parse_dave_server_op):
        with contextlib.suppress(ProtocolError):
            parse({"op": op, "d": d})
