"""DAVE's numbered JSON ops, both directions, as Parley carries them: `{"op": N, "d": {...}}`.

Numbers and field names follow the DAVE protocol; parley.e2ee.opcodes turns these into the
gateway's and the member's own types (and the binary ops, which JSON Schema cannot describe,
are parsed there). User ids are decimal strings, as DAVE sends them.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, TypeAdapter, ValidationError

from parley.protocol.base import Model, refusal

TransitionId = Annotated[int, Field(ge=0, le=0xFFFF)]
DaveVersion = Annotated[int, Field(ge=0, le=255)]
DaveUserId = Annotated[str, Field(pattern=r"^[0-9]{1,20}$")]


# -- server to device -----------------------------------------------------------------------------


class UserIdsData(Model):
    user_ids: Annotated[list[DaveUserId], Field(max_length=1000)]


class DaveClientsConnect(Model):
    """Users now in the media session: members refuse to add anyone not announced here."""

    op: Literal[11] = 11
    d: UserIdsData


class UserIdData(Model):
    user_id: DaveUserId


class DaveClientDisconnect(Model):
    op: Literal[13] = 13
    d: UserIdData


class PrepareTransitionData(Model):
    transition_id: TransitionId
    protocol_version: DaveVersion


class DavePrepareTransition(Model):
    op: Literal[21] = 21
    d: PrepareTransitionData


class TransitionData(Model):
    transition_id: TransitionId


class DaveExecuteTransition(Model):
    op: Literal[22] = 22
    d: TransitionData


class PrepareEpochData(Model):
    epoch: Annotated[int, Field(ge=0, lt=1 << 64)]
    protocol_version: DaveVersion


class DavePrepareEpoch(Model):
    """`epoch == 1` tells the member to drop its group and send a new key package."""

    op: Literal[24] = 24
    d: PrepareEpochData


DaveServerOp = Annotated[
    DaveClientsConnect
    | DaveClientDisconnect
    | DavePrepareTransition
    | DaveExecuteTransition
    | DavePrepareEpoch,
    Field(discriminator="op"),
]

# -- device to server -----------------------------------------------------------------------------


class DaveReadyForTransition(Model):
    op: Literal[23] = 23
    d: TransitionData


class DaveInvalidCommitWelcome(Model):
    op: Literal[31] = 31
    d: TransitionData


DaveDeviceOp = Annotated[DaveReadyForTransition | DaveInvalidCommitWelcome, Field(discriminator="op")]

_device: TypeAdapter[DaveDeviceOp] = TypeAdapter(DaveDeviceOp)
_server: TypeAdapter[DaveServerOp] = TypeAdapter(DaveServerOp)


def parse_dave_device_op(message: dict[str, Any]) -> DaveDeviceOp:
    """A parsed JSON object whose `op` is a number, from a device. Raises ProtocolError."""
    try:
        return _device.validate_python(message)
    except ValidationError as e:
        raise refusal(e, message.get("op")) from None


def parse_dave_server_op(message: dict[str, Any]) -> DaveServerOp:
    """The same from the server, as a member reads it. Raises ProtocolError."""
    try:
        return _server.validate_python(message)
    except ValidationError as e:
        raise refusal(e, message.get("op")) from None
