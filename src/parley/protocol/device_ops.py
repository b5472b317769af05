"""Device to server: the Parley ops a device sends, validated at the edge.

`parse_device_frame` is the only way a text frame from a device becomes an op: it enforces the
size limit, the shape and every field's bounds, and raises `ProtocolError` with the code and a
message that names the rule. A DAVE JSON op (a number in `op`) comes out as its model
(parley.protocol.dave_ops).

Every op may carry a request `id`; the server answers it, with the same id, exactly once
(parley.protocol.server_ops: the op's own answer, `ok`, or `error`).
"""

from __future__ import annotations

import base64
import json
from typing import Annotated, Literal

from cryptography.hazmat.primitives.asymmetric import ec
from pydantic import Field, TypeAdapter, ValidationError, field_validator, model_validator

from parley.protocol.base import Empty, Model, ProtocolError, RequestId, refusal
from parley.protocol.codes import ErrorCode
from parley.protocol.dave_ops import DaveDeviceOp, parse_dave_device_op
from parley.protocol.fields import (
    MAX_CANDIDATE,
    MAX_PEOPLE,
    MAX_SAFE,
    MAX_TEXT_FRAME,
    AttestationText,
    CertificateText,
    Ciphertext,
    DelegationKeyText,
    Ed25519SignatureText,
    EnrollmentText,
    KeyProofText,
    Language,
    Name,
    PinSetText,
    RecordEntryText,
    RecordGrantText,
    RecordHeadText,
    RevocationsText,
    Sdp,
    SignatureKeyText,
    SignerListText,
    UserId,
    key_proof_message,
    unb64url,
    verify_key_proof,
)


class _Request(Model):
    id: RequestId | None = None


class IdentifyData(Model):
    token: Annotated[str, Field(min_length=1, max_length=1024)]
    people: Annotated[list[Name], Field(min_length=1, max_length=MAX_PEOPLE)]
    # The device's DAVE signature key. Its user id is derived from it and the invitation, and the
    # gateway accepts only key packages signed by it: the same device keeps the same identity.
    key: SignatureKeyText
    # Its signature over key_proof_message(token, key): the key alone is public (every roster shows
    # it), so without this whoever holds the link could claim another device's identity.
    proof: KeyProofText
    protocol_version: Literal[1] = 1
    # Its delegation's certificate for this key and user id, if it holds one (a reload, a new
    # visit): the server relays it to every member, who each check it (docs/identity.md).
    certificate: CertificateText | None = None

    @field_validator("key")
    @classmethod
    def _a_p256_point(cls, text: str) -> str:
        try:
            ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), unb64url(text))
        except ValueError:
            raise ValueError("key must be an uncompressed P-256 public key (65 bytes)") from None
        return text

    @model_validator(mode="after")
    def _proof_verifies(self) -> IdentifyData:
        proof = base64.urlsafe_b64decode(self.proof + "==")
        if not verify_key_proof(self.signature_key, key_proof_message(self.token, self.signature_key), proof):
            raise ValueError("proof is not a signature of the token by this key")
        return self

    @property
    def signature_key(self) -> bytes:
        return unb64url(self.key)


class Identify(_Request):
    """First op on a connection: the invitation, and the names of the people at this device."""

    op: Literal["identify"] = "identify"
    d: IdentifyData


class PublishData(Model):
    sdp: Sdp
    channel: Language | None = None  # None: the floor


class Publish(_Request):
    """An offer to publish this device's audio and video (frames already end-to-end encrypted),
    to the floor or (interpreters) into a language channel. Answered by `publish_answer`."""

    op: Literal["publish"] = "publish"
    d: PublishData


class FeedData(Model):
    feed: UserId


class Subscribe(_Request):
    """Ask for another device's media; the server answers with `subscribe_offer`."""

    op: Literal["subscribe"] = "subscribe"
    d: FeedData


class SubscribeAnswerData(Model):
    feed: UserId
    sdp: Sdp


class SubscribeAnswer(_Request):
    op: Literal["subscribe_answer"] = "subscribe_answer"
    d: SubscribeAnswerData


class Candidate(Model):
    candidate: Annotated[str, Field(max_length=MAX_CANDIDATE)]
    sdpMid: Annotated[str | None, Field(max_length=32)] = None
    sdpMLineIndex: Annotated[int | None, Field(ge=0, le=64)] = None


class TrickleData(Model):
    feed: UserId | None = None  # None: the publishing connection
    candidate: Candidate | None = None  # None: end of candidates


class Trickle(_Request):
    op: Literal["trickle"] = "trickle"
    d: TrickleData


class Leave(_Request):
    op: Literal["leave"] = "leave"
    d: Empty = Empty()


class HeartbeatData(Model):
    nonce: Annotated[int, Field(ge=0, lt=MAX_SAFE)]


class Heartbeat(_Request):
    op: Literal["heartbeat"] = "heartbeat"
    d: HeartbeatData


class UserData(Model):
    user_id: UserId


class Admit(_Request):
    """Host (or the delegation's head): let a waiting device into the call."""

    op: Literal["admit"] = "admit"
    d: UserData


class Refuse(_Request):
    op: Literal["refuse"] = "refuse"
    d: UserData


class Remove(_Request):
    """Host: take a device out of the summit (MLS removal, Janus kick)."""

    op: Literal["remove"] = "remove"
    d: UserData


class Revoke(_Request):
    """Host: revoke the invitation link this device joined with; every device of that link leaves."""

    op: Literal["revoke"] = "revoke"
    d: UserData


class LockData(Model):
    locked: bool


class Lock(_Request):
    op: Literal["lock"] = "lock"
    d: LockData


PhaseName = Literal["lobby", "opening", "closed_session", "ended"]


class AdvanceData(Model):
    phase: PhaseName


class Advance(_Request):
    """Host: move the summit to its next phase."""

    op: Literal["advance"] = "advance"
    d: AdvanceData


class AllowOverrun(_Request):
    op: Literal["allow_overrun"] = "allow_overrun"
    d: Empty = Empty()


class TakeOver(_Request):
    """Interpreter: go live in its booth (nobody live, or the live one handed over)."""

    op: Literal["take_over"] = "take_over"
    d: Empty = Empty()


class HandOver(_Request):
    """The live interpreter: offer the channel to a booth mate; it stays live until one takes over."""

    op: Literal["hand_over"] = "hand_over"
    d: Empty = Empty()


class CoughData(Model):
    muted: bool


class Cough(_Request):
    """Interpreter: the cough key. While muted its channel voice is not forwarded."""

    op: Literal["cough"] = "cough"
    d: CoughData


# -- delegation-certified identities (docs/identity.md) --------------------------------------------


class EnrollData(Model):
    request: EnrollmentText


class Enroll(_Request):
    """A device asks its delegation to certify it: its enrollment request (its claim, signed with
    its key). Relayed as `enrollment_request` to its delegation's officer consoles present."""

    op: Literal["enroll"] = "enroll"
    d: EnrollData


class OfficerData(Model):
    key: DelegationKeyText  # the delegation's Ed25519 public key
    proof: Ed25519SignatureText  # its signature over parley.identity.officer.officer_message


class Officer(_Request):
    """This device is its delegation's officer console: it holds the delegation key (`proof`),
    and is sent its delegation's enrollment requests from now on."""

    op: Literal["officer"] = "officer"
    d: OfficerData


class ApproveData(Model):
    certificate: CertificateText


class Approve(_Request):
    """An officer console: its delegation's certificate for a device. The server keeps it for the
    summit and relays it (`certificate`) to every device."""

    op: Literal["approve"] = "approve"
    d: ApproveData


class Decline(_Request):
    """An officer console: it does not certify this device of its delegation, which is waiting for
    a certificate; the device's stay ends (`enrollment_declined`)."""

    op: Literal["decline"] = "decline"
    d: UserData


class RevocationsData(Model):
    revocations: RevocationsText


class Revocations(_Request):
    """An officer console: its delegation's new revocation list, kept and relayed to every device."""

    op: Literal["revocations"] = "revocations"
    d: RevocationsData


class PinsData(Model):
    pin_set: PinSetText


class Pins(_Request):
    """An officer console: the pins its delegation's devices trust, signed by the delegation key;
    kept and sent to each device of that delegation."""

    op: Literal["pins"] = "pins"
    d: PinsData


class AttestData(Model):
    attestation: AttestationText


class Attest(_Request):
    """This device's signed statement of the epoch it is in, relayed to every member."""

    op: Literal["attest"] = "attest"
    d: AttestData


# -- the record (docs/record.md) -----------------------------------------------------------------


class RecordAppendData(Model):
    entry: RecordEntryText
    ciphertext: Ciphertext  # its statement, encrypted under the record key; "" for sign and seal


class RecordAppend(_Request):
    """A signer: one entry at the end of the log. The server checks it against the record's
    rules, keeps it on disk, answers `ok`, and sends it (`record_entry`) to every reader."""

    op: Literal["record_append"] = "record_append"
    d: RecordAppendData


class RecordReadData(Model):
    from_seq: Annotated[int, Field(ge=0, lt=MAX_SAFE)]


class RecordRead(_Request):
    """Entries of the log from `from_seq` on, as many as one frame holds: answered with
    `record_entries`. A device catching up reads page after page; new entries come as
    `record_entry` meanwhile."""

    op: Literal["record_read"] = "record_read"
    d: RecordReadData


class RecordGrantData(Model):
    grant: RecordGrantText


class RecordGrant(_Request):
    """The record key, sealed to one device or one delegation: kept, and sent to its recipient."""

    op: Literal["record_grant"] = "record_grant"
    d: RecordGrantData


class RecordHeadData(Model):
    head: RecordHeadText


class RecordHead(_Request):
    """Which log this device holds (its length and head), signed: relayed to every reader, who
    compares it with its own."""

    op: Literal["record_head"] = "record_head"
    d: RecordHeadData


class RecordClose(_Request):
    """The host: the record takes no more entries but the signers' seals."""

    op: Literal["record_close"] = "record_close"
    d: Empty = Empty()


class SignersData(Model):
    signer_list: SignerListText


class Signers(_Request):
    """An officer console: the certificates that may sign the record for its delegation besides
    its principal, signed by the delegation key; kept and sent to every reader."""

    op: Literal["signers"] = "signers"
    d: SignersData


DeviceOp = Annotated[
    Identify
    | Publish
    | Subscribe
    | SubscribeAnswer
    | Trickle
    | Leave
    | Heartbeat
    | Admit
    | Refuse
    | Remove
    | Revoke
    | Lock
    | Advance
    | AllowOverrun
    | TakeOver
    | HandOver
    | Cough
    | Enroll
    | Officer
    | Approve
    | Decline
    | Revocations
    | Pins
    | Attest
    | RecordAppend
    | RecordRead
    | RecordGrant
    | RecordHead
    | RecordClose
    | Signers,
    Field(discriminator="op"),
]
_device_op: TypeAdapter[DeviceOp] = TypeAdapter(DeviceOp)


def parse_device_frame(text: str) -> DeviceOp | DaveDeviceOp:
    """A text frame from a device: a Parley op, or a DAVE JSON op. Raises ProtocolError."""
    if len(text) > MAX_TEXT_FRAME:
        raise ProtocolError(ErrorCode.TOO_LARGE, f"text frames are limited to {MAX_TEXT_FRAME} bytes")
    try:
        message = json.loads(text)
    except (ValueError, RecursionError):  # RecursionError: arrays or objects nested too deep
        raise ProtocolError(ErrorCode.MALFORMED, "a text frame must be one JSON object") from None
    if not isinstance(message, dict):
        raise ProtocolError(ErrorCode.MALFORMED, "a text frame must be one JSON object")
    op = message.get("op")
    if type(op) is int:
        return parse_dave_device_op(message)
    if not isinstance(op, str):
        raise ProtocolError(ErrorCode.MALFORMED, 'a Parley op is {"op": "<name>", "d": {...}}')
    try:
        return _device_op.validate_python(message)
    except ValidationError as e:
        raise refusal(e, op) from None


def peek(text: str) -> tuple[str | int | None, int | None]:
    """The op and request id a frame names, for the error that refuses it when it does not parse
    as an op: the error still names the op and settles the request it answers. Only well-formed
    values count (an op name or DAVE number, an id in range)."""
    try:
        message = json.loads(text) if len(text) <= MAX_TEXT_FRAME else None
    except (ValueError, RecursionError):
        return None, None
    if not isinstance(message, dict):
        return None, None
    op, request = message.get("op"), message.get("id")
    named = op if (isinstance(op, str) and len(op) <= 32) or (type(op) is int and 0 <= op <= 255) else None
    return named, request if type(request) is int and 1 <= request < MAX_SAFE else None
