"""Server to device: every op the server sends, as models; `encode` makes the text frame.

An op that answers a request carries the request's `id` (`ready`, `publish_answer`,
`subscribe_offer`, `heartbeat_ack`, `ok`, and `error`); events carry none. Clients read frames
with `parse_server_frame` (the SDK) or the validators generated from the same schema (the
browser), so both sides agree on every field by construction.
"""

from __future__ import annotations

import json
from typing import Annotated, Literal

from pydantic import Field, TypeAdapter, ValidationError

from parley.protocol.base import Empty, Model, ProtocolError, RequestId, refusal
from parley.protocol.codes import ErrorCode, RecordState
from parley.protocol.dave_ops import DaveServerOp
from parley.protocol.fields import (
    MAX_TEXT_FRAME,
    AttestationText,
    CertificateText,
    Ciphertext,
    EnrollmentText,
    FingerprintDigits,
    Language,
    PinSetText,
    RecordEntryText,
    RecordGrantText,
    RecordHeadText,
    RevocationsText,
    Sdp,
    SignerListText,
    UserId,
)
from parley.protocol.vocabulary import Admission, AtEnd, Phase, Role

# -- what ops carry -------------------------------------------------------------------------------


class DeviceInfo(Model):
    """A device as the roster and the lobby show it."""

    user_id: UserId
    delegation_id: str
    delegation: str
    role: Role
    people: list[str]
    publishing: bool = False
    language: Language | None = None  # an interpreter's channel: its feed is not the floor
    key: str  # the DAVE signature key it identified with (base64url): its leaf must carry it
    link: str  # an opaque tag of its invitation: the same link coming back with another key shows


class LobbyDevice(DeviceInfo):
    removed_earlier: bool  # the host removed a device of its link and has not admitted one since


class OwnDevice(DeviceInfo):
    """This device, as `ready` tells it: where it listens first (None: the floor)."""

    default_channel: Language | None


class DelegationInfo(Model):
    delegation_id: str
    name: str
    working_language: str


class SummitInfo(Model):
    summit_id: str
    title: str
    scheduled_start: str  # ISO 8601, UTC
    duration_minutes: int
    channel_id: int
    delegations: list[DelegationInfo]
    languages: list[Language]
    ducking: float
    # The organiser's pins ({delegation name: key fingerprint}); empty: no certificates required.
    # A device holds them against its own delegation's pin set, so neither the organiser nor the
    # server can change them unnoticed.
    pins: dict[str, FingerprintDigits] = Field(default_factory=dict)


class CourseInfo(Model):
    """The summit's course; times ISO 8601 UTC, and clients count down from `server_time`."""

    phase: Phase
    locked: bool
    starts_at: str
    ends_at: str
    server_time: str
    at_end: AtEnd
    overrun: bool
    admission: Admission


class BoothInfo(Model):
    language: Language
    interpreters: list[UserId]
    live: UserId | None
    handing_over: bool
    muted: bool


class IceServer(Model):
    urls: str
    username: str | None = None
    credential: str | None = None


# -- the ops --------------------------------------------------------------------------------------


class _Answer(Model):
    id: RequestId | None = None  # the request it answers


class ReadyData(Model):
    device: OwnDevice
    summit: SummitInfo
    admitted: bool  # False: it waits in the lobby
    can_admit: bool
    course: CourseInfo
    heartbeat_interval: float
    ice_servers: list[IceServer]
    test_hooks: bool  # the server runs with test hooks: a client ignores test switches otherwise
    pin_set: PinSetText | None = None  # the latest its delegation's officer signed, if any


class ReadyOp(_Answer):
    """Identified (answers `identify`)."""

    op: Literal["ready"] = "ready"
    d: ReadyData


class AdmittedOp(Model):
    op: Literal["admitted"] = "admitted"
    d: Empty = Empty()


class CourseOp(Model):
    op: Literal["course"] = "course"
    d: CourseInfo


class ClockWarningData(Model):
    minutes_left: int


class ClockWarningOp(Model):
    op: Literal["clock_warning"] = "clock_warning"
    d: ClockWarningData


class LobbyJoinedData(Model):
    device: LobbyDevice


class LobbyJoinedOp(Model):
    op: Literal["lobby_joined"] = "lobby_joined"
    d: LobbyJoinedData


class LobbyLeftData(Model):
    user_id: UserId


class LobbyLeftOp(Model):
    op: Literal["lobby_left"] = "lobby_left"
    d: LobbyLeftData


class RosterData(Model):
    devices: list[DeviceInfo]


class RosterOp(Model):
    op: Literal["roster"] = "roster"
    d: RosterData


class BoothsData(Model):
    booths: list[BoothInfo]


class BoothsOp(Model):
    op: Literal["booths"] = "booths"
    d: BoothsData


class SdpData(Model):
    sdp: Sdp


class PublishAnswerOp(_Answer):
    op: Literal["publish_answer"] = "publish_answer"
    d: SdpData


class SubscribeOfferData(Model):
    feed: UserId
    sdp: Sdp


class SubscribeOfferOp(_Answer):
    op: Literal["subscribe_offer"] = "subscribe_offer"
    d: SubscribeOfferData


class MediaResetData(Model):
    reason: str


class MediaResetOp(Model):
    """The media server restarted: publish again."""

    op: Literal["media_reset"] = "media_reset"
    d: MediaResetData


class KeyframeData(Model):
    subscriber: UserId


class KeyframeOp(Model):
    """A subscription to this device's feed just came up: send a video keyframe now. The new
    subscriber can decode nothing before one, and Janus paces its own keyframe requests to a
    publisher (one a second), which on a long path would cost a late subscriber its picture for
    over two seconds."""

    op: Literal["keyframe"] = "keyframe"
    d: KeyframeData


class HeartbeatAckData(Model):
    nonce: Annotated[int, Field(ge=0)]


class HeartbeatAckOp(_Answer):
    op: Literal["heartbeat_ack"] = "heartbeat_ack"
    d: HeartbeatAckData


class OkOp(_Answer):
    """Done: the answer to a request that has no answer of its own (admit, lock, take_over...)."""

    op: Literal["ok"] = "ok"
    d: Empty = Empty()


class ErrorData(Model):
    code: ErrorCode
    message: str
    op: str | int | None  # the op of the frame it refuses (a DAVE opcode, "binary"), if known


class ErrorOp(_Answer):
    """A refusal: of the request `id` names, or (no id) of a frame that named none, or the end of
    the device's stay (ENDINGS)."""

    op: Literal["error"] = "error"
    d: ErrorData


# -- delegation-certified identities (docs/identity.md): documents the server relays ---------------


class EnrollmentRequestData(Model):
    request: EnrollmentText
    user_id: UserId  # the device asking


class EnrollmentRequestOp(Model):
    """To an officer console: a device of its delegation asks to be certified."""

    op: Literal["enrollment_request"] = "enrollment_request"
    d: EnrollmentRequestData


class CertificateData(Model):
    user_id: UserId
    certificate: CertificateText


class CertificateOp(Model):
    """One certificate, a device's own or any member's: on admission, for every member present,
    and on every approval (one op each: a list of many would near the frame limit)."""

    op: Literal["certificate"] = "certificate"
    d: CertificateData


class RevocationListData(Model):
    revocations: RevocationsText


class RevocationsOp(Model):
    """A delegation's latest revocation list: on admission and on change."""

    op: Literal["revocations"] = "revocations"
    d: RevocationListData


class PinSetData(Model):
    pin_set: PinSetText


class PinsOp(Model):
    """The device's own delegation's new pin set."""

    op: Literal["pins"] = "pins"
    d: PinSetData


class AttestationData(Model):
    user_id: UserId
    attestation: AttestationText


class AttestationOp(Model):
    """A member's attestation of the epoch it is in."""

    op: Literal["attestation"] = "attestation"
    d: AttestationData


# The documents of delegation-certified identities the server relays (docs/identity.md).
IdentityOp = EnrollmentRequestOp | CertificateOp | RevocationsOp | PinsOp | AttestationOp

# -- the record (docs/record.md) -----------------------------------------------------------------


class RecordEntryData(Model):
    entry: RecordEntryText
    ciphertext: Ciphertext  # "" for sign and seal
    certificate: CertificateText  # its signer's, so that every entry can be checked on its own


class RecordEntryOp(Model):
    """An entry just kept, to every reader present (a device arriving reads the log with
    `record_read`)."""

    op: Literal["record_entry"] = "record_entry"
    d: RecordEntryData


class RecordEntriesData(Model):
    entries: list[RecordEntryData]  # in order, from the seq asked for; empty: none from there
    length: Annotated[int, Field(ge=0)]  # entries in the log


class RecordEntriesOp(_Answer):
    """The answer to `record_read`: a page of the log."""

    op: Literal["record_entries"] = "record_entries"
    d: RecordEntriesData


class RecordGrantData(Model):
    grant: RecordGrantText


class RecordGrantOp(Model):
    """The record key sealed to this device, or to its delegation (for its copy)."""

    op: Literal["record_grant"] = "record_grant"
    d: RecordGrantData


class RecordHeadFromData(Model):
    user_id: UserId
    head: RecordHeadText


class RecordHeadOp(Model):
    """A member's signed word of the log it holds."""

    op: Literal["record_head"] = "record_head"
    d: RecordHeadFromData


class RecordStateData(Model):
    state: RecordState
    length: Annotated[int, Field(ge=0)]  # entries kept
    key_id: Annotated[str, Field(max_length=22, pattern=r"^[A-Za-z0-9_-]*$")]  # "": no key yet
    # Readers the record key has not been granted to yet: a holder grants it to them.
    ungranted_devices: list[UserId]
    ungranted_delegations: list[str]


class RecordStateOp(Model):
    """The record's state, to every reader: on admission and when it changes."""

    op: Literal["record_state"] = "record_state"
    d: RecordStateData


class SignerListData(Model):
    signer_list: SignerListText


class SignersOp(Model):
    """A delegation's latest signer list."""

    op: Literal["signers"] = "signers"
    d: SignerListData


RecordOp = RecordEntryOp | RecordGrantOp | RecordHeadOp | RecordStateOp | SignersOp

ParleyServerOp = Annotated[
    ReadyOp
    | AdmittedOp
    | CourseOp
    | ClockWarningOp
    | LobbyJoinedOp
    | LobbyLeftOp
    | RosterOp
    | BoothsOp
    | PublishAnswerOp
    | SubscribeOfferOp
    | MediaResetOp
    | KeyframeOp
    | HeartbeatAckOp
    | OkOp
    | ErrorOp
    | EnrollmentRequestOp
    | CertificateOp
    | RevocationsOp
    | PinsOp
    | AttestationOp
    | RecordEntryOp
    | RecordEntriesOp
    | RecordGrantOp
    | RecordHeadOp
    | RecordStateOp
    | SignersOp,
    Field(discriminator="op"),
]
# Every JSON op a device may receive: Parley's, by name, and DAVE's, by number.
ServerOp = ParleyServerOp | DaveServerOp
_parley: TypeAdapter[ParleyServerOp] = TypeAdapter(ParleyServerOp)
_dave: TypeAdapter[DaveServerOp] = TypeAdapter(DaveServerOp)


def encode(op: Model) -> str:
    """The text frame of an op (either direction): compact JSON, without an `id` when it
    answers no request."""
    return op.model_dump_json(exclude={"id"} if getattr(op, "id", 1) is None else None)


def parse_server_frame(text: str) -> ServerOp:
    """A text frame from the server, as a client reads it. Raises ProtocolError: a client counts
    and drops what it cannot read, never casts it."""
    if len(text) > MAX_TEXT_FRAME:
        raise ProtocolError(ErrorCode.TOO_LARGE, f"text frames are limited to {MAX_TEXT_FRAME} bytes")
    try:
        message = json.loads(text)
    except (ValueError, RecursionError):
        raise ProtocolError(ErrorCode.MALFORMED, "a text frame must be one JSON object") from None
    op = message.get("op") if isinstance(message, dict) else None
    try:
        # Validated from the text itself: JSON mode reads enumerations from their values.
        if type(op) is int:
            return _dave.validate_json(text)
        return _parley.validate_json(text)
    except ValidationError as e:
        raise refusal(e, op) from None
