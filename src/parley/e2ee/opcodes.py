"""DAVE gateway opcodes as Parley carries them: typed messages and their wire forms.

Binary ops travel server to client as `u16 sequence | u8 opcode | payload` and client to server
as `u8 opcode | payload` (the sequence is the connection's, added by whoever owns the socket).
JSON ops are `{"op": N, "d": {...}}`, whose models are in parley.protocol.dave_ops (validated
there, at the edge, with every other JSON op). Names and numbers follow the DAVE protocol text;
the layout is documented in docs/protocol.md.

`decode_client_binary` is the edge for binary frames: it takes untrusted input and either returns
a typed message or raises `DecodeError` saying what is wrong. Nothing else parses client bytes.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from parley.e2ee.mls_wire import MAX_MESSAGE, MAX_REF, FramedPublicMessage, KeyPackage, Welcome
from parley.e2ee.tls import DecodeError, Reader, Writer
from parley.protocol.dave_ops import (
    DaveClientDisconnect,
    DaveClientsConnect,
    DaveDeviceOp,
    DaveExecuteTransition,
    DaveInvalidCommitWelcome,
    DavePrepareEpoch,
    DavePrepareTransition,
    DaveReadyForTransition,
    DaveServerOp,
    PrepareEpochData,
    PrepareTransitionData,
    TransitionData,
    UserIdData,
    UserIdsData,
)

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

    def to_json(self) -> DaveClientsConnect:
        return DaveClientsConnect(d=UserIdsData(user_ids=[str(u) for u in self.user_ids]))


@dataclass(frozen=True)
class ClientDisconnect:
    user_id: int

    def to_json(self) -> DaveClientDisconnect:
        return DaveClientDisconnect(d=UserIdData(user_id=str(self.user_id)))


@dataclass(frozen=True)
class PrepareTransition:
    transition_id: int
    protocol_version: int

    def to_json(self) -> DavePrepareTransition:
        d = PrepareTransitionData(transition_id=self.transition_id, protocol_version=self.protocol_version)
        return DavePrepareTransition(d=d)


@dataclass(frozen=True)
class ExecuteTransition:
    transition_id: int

    def to_json(self) -> DaveExecuteTransition:
        return DaveExecuteTransition(d=TransitionData(transition_id=self.transition_id))


@dataclass(frozen=True)
class PrepareEpoch:
    """`epoch == 1` tells the member to drop its group and send a new key package."""

    epoch: int
    protocol_version: int

    def to_json(self) -> DavePrepareEpoch:
        return DavePrepareEpoch(d=PrepareEpochData(epoch=self.epoch, protocol_version=self.protocol_version))


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

    def to_json(self) -> DaveReadyForTransition:
        return DaveReadyForTransition(d=TransitionData(transition_id=self.transition_id))


@dataclass(frozen=True)
class InvalidCommitWelcome:
    transition_id: int

    def to_json(self) -> DaveInvalidCommitWelcome:
        return DaveInvalidCommitWelcome(d=TransitionData(transition_id=self.transition_id))


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


def decode_client_json(message: DaveDeviceOp) -> ReadyForTransition | InvalidCommitWelcome:
    """A device's DAVE JSON op, already validated at the edge (parley.protocol.dave_ops)."""
    if isinstance(message, DaveReadyForTransition):
        return ReadyForTransition(message.d.transition_id)
    return InvalidCommitWelcome(message.d.transition_id)


def _user_id(value: str) -> int:
    if int(value) >= 1 << 64:
        raise DecodeError("a user id is a decimal string of an unsigned 64-bit integer")
    return int(value)


def decode_server_json(message: DaveServerOp) -> ServerJsonOp:
    """Server JSON ops, validated by their models, as a member reads them (SDK and tests)."""
    if isinstance(message, DaveClientsConnect):
        return ClientsConnect(tuple(_user_id(u) for u in message.d.user_ids))
    if isinstance(message, DaveClientDisconnect):
        return ClientDisconnect(_user_id(message.d.user_id))
    if isinstance(message, DavePrepareTransition):
        return PrepareTransition(message.d.transition_id, message.d.protocol_version)
    if isinstance(message, DaveExecuteTransition):
        return ExecuteTransition(message.d.transition_id)
    return PrepareEpoch(message.d.epoch, message.d.protocol_version)
