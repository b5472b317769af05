"""DAVE gateway opcodes as Parley carries them: typed messages and their wire forms.

Binary ops travel server to client as `u16 sequence | u8 opcode | payload` and client to server
as `u8 opcode | payload` (the sequence is the connection's, added by whoever owns the socket).
JSON ops are `{"op": N, "d": {...}}`. Names and numbers follow the DAVE protocol text; the layout
is documented in docs/protocol.md.

`decode_client_binary` and `decode_client_json` are the edge: they take untrusted input and either
return a typed message or raise `DecodeError` saying what is wrong. Nothing else parses client
bytes.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from parley.e2ee.mls_wire import MAX_MESSAGE, MAX_REF, FramedPublicMessage, KeyPackage, Welcome
from parley.e2ee.tls import DecodeError, Reader, Writer

# One commit plus its welcome, with framing: anything larger is refused before it is parsed.
MAX_BINARY_FRAME = 2 * MAX_MESSAGE + 16
U16_MAX = 0xFFFF


class Op(enum.IntEnum):
    CLIENTS_CONNECT = 11
    CLIENT_DISCONNECT = 13
    PREPARE_TRANSITION = 21
    EXECUTE_TRANSITION = 22
    READY_FOR_TRANSITION = 23
    PREPARE_EPOCH = 24
    EXTERNAL_SENDER_PACKAGE = 25
    KEY_PACKAGE = 26
    PROPOSALS = 27
    COMMIT_WELCOME = 28
    ANNOUNCE_COMMIT_TRANSITION = 29
    WELCOME = 30
    INVALID_COMMIT_WELCOME = 31


class ProposalsOperation(enum.IntEnum):
    APPEND = 0
    REVOKE = 1


# -- server to client -----------------------------------------------------------------------------


@dataclass(frozen=True)
class ClientsConnect:
    """Users now in the media session: members refuse to add anyone not announced here."""

    user_ids: tuple[int, ...]

    def to_json(self) -> dict[str, Any]:
        return {"op": Op.CLIENTS_CONNECT.value, "d": {"user_ids": [str(u) for u in self.user_ids]}}


@dataclass(frozen=True)
class ClientDisconnect:
    user_id: int

    def to_json(self) -> dict[str, Any]:
        return {"op": Op.CLIENT_DISCONNECT.value, "d": {"user_id": str(self.user_id)}}


@dataclass(frozen=True)
class PrepareTransition:
    transition_id: int
    protocol_version: int

    def to_json(self) -> dict[str, Any]:
        d = {"transition_id": self.transition_id, "protocol_version": self.protocol_version}
        return {"op": Op.PREPARE_TRANSITION.value, "d": d}


@dataclass(frozen=True)
class ExecuteTransition:
    transition_id: int

    def to_json(self) -> dict[str, Any]:
        return {"op": Op.EXECUTE_TRANSITION.value, "d": {"transition_id": self.transition_id}}


@dataclass(frozen=True)
class PrepareEpoch:
    """`epoch == 1` tells the member to drop its group and send a new key package."""

    epoch: int
    protocol_version: int

    def to_json(self) -> dict[str, Any]:
        d = {"epoch": self.epoch, "protocol_version": self.protocol_version}
        return {"op": Op.PREPARE_EPOCH.value, "d": d}


@dataclass(frozen=True)
class ExternalSenderPackage:
    external_sender: bytes  # the ExternalSender struct

    def payload(self) -> bytes:
        return self.external_sender


@dataclass(frozen=True)
class Proposals:
    operation: ProposalsOperation
    items: tuple[bytes, ...]  # MLSMessage encodings (append) or ProposalRefs (revoke)

    def payload(self) -> bytes:
        if self.operation is ProposalsOperation.APPEND:
            body = b"".join(self.items)
        else:
            refs = Writer()
            for ref in self.items:
                refs.vector(ref)
            body = refs.getvalue()
        return Writer().u8(self.operation).vector(body).getvalue()


@dataclass(frozen=True)
class AnnounceCommitTransition:
    transition_id: int
    commit: bytes  # MLSMessage

    def payload(self) -> bytes:
        return Writer().u16(self.transition_id).raw(self.commit).getvalue()


@dataclass(frozen=True)
class WelcomeOp:
    transition_id: int
    welcome: bytes  # bare Welcome, cut to the one joiner

    def payload(self) -> bytes:
        return Writer().u16(self.transition_id).raw(self.welcome).getvalue()


ServerJsonOp = ClientsConnect | ClientDisconnect | PrepareTransition | ExecuteTransition | PrepareEpoch
ServerBinaryOp = ExternalSenderPackage | Proposals | AnnounceCommitTransition | WelcomeOp
ServerOp = ServerJsonOp | ServerBinaryOp

_BINARY_OPCODES: dict[type[ServerBinaryOp], Op] = {
    ExternalSenderPackage: Op.EXTERNAL_SENDER_PACKAGE,
    Proposals: Op.PROPOSALS,
    AnnounceCommitTransition: Op.ANNOUNCE_COMMIT_TRANSITION,
    WelcomeOp: Op.WELCOME,
}


def encode_server_binary(sequence: int, op: ServerBinaryOp) -> bytes:
    return Writer().u16(sequence & U16_MAX).u8(_BINARY_OPCODES[type(op)]).raw(op.payload()).getvalue()


def decode_server_binary(frame: bytes) -> tuple[int, ServerBinaryOp]:
    """Server frames as a member reads them (SDK and tests). Raises `DecodeError`."""
    r = Reader(frame)
    sequence = r.u16("sequence")
    opcode = r.u8("opcode")
    op: ServerBinaryOp
    if opcode == Op.EXTERNAL_SENDER_PACKAGE:
        op = ExternalSenderPackage(r.rest())
    elif opcode == Op.PROPOSALS:
        kind = r.u8("operation_type")
        body = r.sub(MAX_BINARY_FRAME, "proposals")
        r.expect_end("proposals")
        items: list[bytes] = []
        if kind == ProposalsOperation.APPEND:
            while not body.at_end():
                items.append(FramedPublicMessage.read(body).encoded)
        elif kind == ProposalsOperation.REVOKE:
            while not body.at_end():
                items.append(body.vector(MAX_REF, "proposal_ref"))
        else:
            raise DecodeError(f"proposals operation_type {kind} is neither append (0) nor revoke (1)")
        op = Proposals(ProposalsOperation(kind), tuple(items))
    elif opcode == Op.ANNOUNCE_COMMIT_TRANSITION:
        op = AnnounceCommitTransition(r.u16("transition_id"), r.rest())
    elif opcode == Op.WELCOME:
        op = WelcomeOp(r.u16("transition_id"), r.rest())
    else:
        raise DecodeError(f"opcode {opcode} is not a server binary op")
    return sequence, op


# -- client to server -----------------------------------------------------------------------------


@dataclass(frozen=True)
class KeyPackageOp:
    key_package: KeyPackage

    def encode(self) -> bytes:
        return bytes([Op.KEY_PACKAGE]) + self.key_package.encoded


@dataclass(frozen=True)
class CommitWelcome:
    commit: FramedPublicMessage
    welcome: Welcome | None

    def encode(self) -> bytes:
        welcome = self.welcome.encode() if self.welcome else b""
        return bytes([Op.COMMIT_WELCOME]) + self.commit.encoded + welcome


@dataclass(frozen=True)
class ReadyForTransition:
    transition_id: int

    def to_json(self) -> dict[str, Any]:
        return {"op": Op.READY_FOR_TRANSITION.value, "d": {"transition_id": self.transition_id}}


@dataclass(frozen=True)
class InvalidCommitWelcome:
    transition_id: int

    def to_json(self) -> dict[str, Any]:
        return {"op": Op.INVALID_COMMIT_WELCOME.value, "d": {"transition_id": self.transition_id}}


ClientOp = KeyPackageOp | CommitWelcome | ReadyForTransition | InvalidCommitWelcome


class OversizedFrame(DecodeError):
    """A frame above `MAX_BINARY_FRAME`: refused unread."""


class UnknownOpcode(DecodeError):
    """An opcode a client may not send (or that does not exist)."""


def decode_client_binary(frame: bytes) -> KeyPackageOp | CommitWelcome:
    if len(frame) > MAX_BINARY_FRAME:
        raise OversizedFrame(f"binary frame of {len(frame)} bytes exceeds {MAX_BINARY_FRAME}")
    r = Reader(frame)
    opcode = r.u8("opcode")
    if opcode == Op.KEY_PACKAGE:
        kp = KeyPackage.read(r)
        r.expect_end("key_package")
        return KeyPackageOp(kp)
    if opcode == Op.COMMIT_WELCOME:
        commit = FramedPublicMessage.read(r)
        welcome = Welcome.parse(r.rest()) if not r.at_end() else None
        return CommitWelcome(commit, welcome)
    raise UnknownOpcode(f"opcode {opcode} is not a client binary op (26 or 28)")


def _transition_id(d: Mapping[str, Any]) -> int:
    return _field(d, "transition_id", 0, U16_MAX)


def decode_client_json(message: Mapping[str, Any]) -> ReadyForTransition | InvalidCommitWelcome:
    """A parsed JSON object from a client; the caller bounds its size before parsing."""
    op, d = message.get("op"), message.get("d")
    if type(op) is not int or not isinstance(d, Mapping):
        raise DecodeError('a JSON op is {"op": <int>, "d": {...}}')
    if op == Op.READY_FOR_TRANSITION:
        return ReadyForTransition(_transition_id(d))
    if op == Op.INVALID_COMMIT_WELCOME:
        return InvalidCommitWelcome(_transition_id(d))
    raise UnknownOpcode(f"op {op} is not a client JSON op (23 or 31)")


def _field(d: Mapping[str, Any], name: str, low: int, high: int) -> int:
    value = d.get(name)
    if type(value) is not int or not low <= value <= high:
        raise DecodeError(f"d.{name} must be an integer from {low} to {high}")
    return value


def _user_id(value: object) -> int:
    if not isinstance(value, str) or not value.isdecimal() or int(value) >= 1 << 64:
        raise DecodeError("a user id is a decimal string of an unsigned 64-bit integer")
    return int(value)


def decode_server_json(message: Mapping[str, Any]) -> ServerJsonOp:
    """Server JSON ops as a member reads them (SDK and tests). Raises `DecodeError`."""
    op, d = message.get("op"), message.get("d")
    if type(op) is not int or not isinstance(d, Mapping):
        raise DecodeError('a JSON op is {"op": <int>, "d": {...}}')
    if op == Op.CLIENTS_CONNECT:
        ids = d.get("user_ids")
        if not isinstance(ids, list):
            raise DecodeError("d.user_ids must be a list")
        return ClientsConnect(tuple(_user_id(u) for u in ids))
    if op == Op.CLIENT_DISCONNECT:
        return ClientDisconnect(_user_id(d.get("user_id")))
    if op == Op.PREPARE_TRANSITION:
        return PrepareTransition(_transition_id(d), _field(d, "protocol_version", 0, 255))
    if op == Op.EXECUTE_TRANSITION:
        return ExecuteTransition(_transition_id(d))
    if op == Op.PREPARE_EPOCH:
        return PrepareEpoch(_field(d, "epoch", 0, (1 << 64) - 1), _field(d, "protocol_version", 0, 255))
    raise UnknownOpcode(f"op {op} is not a server JSON op")
