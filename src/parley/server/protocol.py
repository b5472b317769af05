"""The signalling protocol's JSON ops: typed models, validated at the edge.

One WebSocket per device carries three kinds of frames (docs/protocol.md):
- Parley JSON ops: `{"op": "<name>", "d": {...}}`, below;
- DAVE JSON ops: `{"op": <number>, "d": {...}}` (parley.e2ee.opcodes);
- DAVE binary ops (parley.e2ee.opcodes).

`parse_client_op` is the only way client JSON becomes a Parley op: it enforces the size limit,
the shape and every field's bounds, and raises `ProtocolError` with a message that names the
rule. Unknown fields are refused rather than ignored, so a client bug shows at once.
"""

from __future__ import annotations

import base64
import json
import unicodedata
from typing import Annotated, Any, Literal

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    field_validator,
    model_validator,
)

from parley.errors import ParleyError
from parley.summit.model import LANGUAGE_PATTERN

PROTOCOL_VERSION = 1
MAX_TEXT_FRAME = 64 * 1024  # an SDP with audio and video is a few KB
MAX_PEOPLE = 8  # people at one device, shown to everyone in the roster and the lobby
MAX_NAME = 64  # characters (code points, after NFC) of one person's name
MAX_SDP = 48 * 1024
MAX_CANDIDATE = 1024


class ProtocolError(ParleyError, ValueError):
    """A client message does not follow the protocol; `code` goes into the error op. A
    ValueError too, as every parser's refusal is."""


class _Op(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


# -- client to server ---------------------------------------------------------------------------


# A DAVE signature public key on the wire: the 65-byte uncompressed P-256 point, base64url
# without padding (87 characters).
SignatureKeyText = Annotated[str, Field(min_length=87, max_length=87, pattern=r"^[A-Za-z0-9_-]{87}$")]


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


# The proof that a device holds the private half of the key it identifies with: an ECDSA P-256
# SHA-256 signature, r || s (64 bytes, as WebCrypto makes it), base64url without padding.
KeyProofText = Annotated[str, Field(min_length=86, max_length=86, pattern=r"^[A-Za-z0-9_-]{86}$")]
_PROOF_LABEL = b"parley identify v1\x00"


def key_proof_message(token: str, key: bytes) -> bytes:
    """What a device signs with its signature key to identify: the invitation and the key itself,
    under a label of its own (no other signature a device makes can stand in for it)."""
    return _PROOF_LABEL + token.encode() + b"\x00" + key


def _verify_key_proof(key: bytes, message: bytes, proof: bytes) -> bool:
    public = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), key)
    r, s = int.from_bytes(proof[:32], "big"), int.from_bytes(proof[32:], "big")
    try:
        public.verify(encode_dss_signature(r, s), message, ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        return False
    return True


# Invisible characters that join letters in some scripts (Persian and Indic names use them, and
# emoji sequences): the only format characters a name may hold. The bidirectional controls (which
# can make one name read as another) and every other format character are refused.
_NAME_JOINERS = frozenset("\u200c\u200d")
# Control, format, surrogate, private-use and unassigned code points; line and paragraph separators.
_NOT_IN_NAMES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})


def check_name(name: str) -> str:
    """One person's name as every device will show it: NFC, without surrounding blanks, 1 to
    MAX_NAME characters, and only characters that print (letters, marks, digits, punctuation,
    symbols, spaces). Characters beyond the Basic Multilingual Plane are allowed (CJK names and
    emoji need them); each counts as one character. ValueError names the rule broken."""
    name = unicodedata.normalize("NFC", name).strip()
    if not name:
        raise ValueError("a name may not be blank")
    if len(name) > MAX_NAME:
        raise ValueError(f"a name has at most {MAX_NAME} characters")
    for c in name:
        if unicodedata.category(c) in _NOT_IN_NAMES and c not in _NAME_JOINERS:
            raise ValueError(f"a name may hold only printable characters, not U+{ord(c):04X}")
    return name


# As typed (decomposed letters, surrounding blanks) a name may be longer than it is shown; this
# first bound only spares the server normalising a long string at all.
Name = Annotated[str, Field(min_length=1, max_length=4 * MAX_NAME), AfterValidator(check_name)]


class IdentifyData(_Op):
    token: Annotated[str, Field(min_length=1, max_length=1024)]
    people: Annotated[list[Name], Field(min_length=1, max_length=MAX_PEOPLE)]
    # The device's DAVE signature key. Its user id is derived from it and the invitation, and the
    # gateway accepts only key packages signed by it: the same device keeps the same identity.
    key: SignatureKeyText
    # Its signature over key_proof_message(token, key): the key alone is public (every roster shows
    # it), so without this whoever holds the link could claim another device's identity.
    proof: KeyProofText
    protocol_version: Literal[1] = 1

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
        if not _verify_key_proof(
            self.signature_key, key_proof_message(self.token, self.signature_key), proof
        ):
            raise ValueError("proof is not a signature of the token by this key")
        return self

    @property
    def signature_key(self) -> bytes:
        return unb64url(self.key)


class Identify(_Op):
    """First op on a connection: the invitation, and the names of the people at this device."""

    op: Literal["identify"]
    d: IdentifyData


class SdpData(_Op):
    sdp: Annotated[str, Field(min_length=1, max_length=MAX_SDP)]


Language = Annotated[str, Field(pattern=LANGUAGE_PATTERN)]  # a channel: 13 characters at most


class PublishData(SdpData):
    channel: Language | None = None  # None: the floor


class Publish(_Op):
    """An offer to publish this device's audio and video (frames already end-to-end encrypted),
    to the floor or (interpreters) into a language channel."""

    op: Literal["publish"]
    d: PublishData


class SubscribeData(_Op):
    feed: Annotated[int, Field(ge=1, lt=1 << 53)]


class Subscribe(_Op):
    """Ask for another device's media; the server answers with `subscribe_offer`."""

    op: Literal["subscribe"]
    d: SubscribeData


class SubscribeAnswerData(SdpData):
    feed: Annotated[int, Field(ge=1, lt=1 << 53)]


class SubscribeAnswer(_Op):
    op: Literal["subscribe_answer"]
    d: SubscribeAnswerData


class Candidate(_Op):
    candidate: Annotated[str, Field(max_length=MAX_CANDIDATE)]
    sdpMid: Annotated[str | None, Field(max_length=32)] = None
    sdpMLineIndex: Annotated[int | None, Field(ge=0, le=64)] = None


class TrickleData(_Op):
    feed: Annotated[int | None, Field(ge=1, lt=1 << 53)] = None  # None: the publishing connection
    candidate: Candidate | None = None  # None: end of candidates


class Trickle(_Op):
    op: Literal["trickle"]
    d: TrickleData


class Empty(_Op):
    pass


class Leave(_Op):
    op: Literal["leave"]
    d: Empty = Empty()


class HeartbeatData(_Op):
    nonce: Annotated[int, Field(ge=0, lt=1 << 53)]


class Heartbeat(_Op):
    op: Literal["heartbeat"]
    d: HeartbeatData


class UserData(_Op):
    user_id: Annotated[int, Field(ge=1, lt=1 << 53)]


class Admit(_Op):
    """Host (or the delegation's head): let a waiting device into the call."""

    op: Literal["admit"]
    d: UserData


class Refuse(_Op):
    op: Literal["refuse"]
    d: UserData


class Remove(_Op):
    """Host: take a device out of the summit (MLS removal, Janus kick)."""

    op: Literal["remove"]
    d: UserData


class Revoke(_Op):
    """Host: revoke the invitation link this device joined with; every device of that link leaves."""

    op: Literal["revoke"]
    d: UserData


class LockData(_Op):
    locked: bool


class Lock(_Op):
    op: Literal["lock"]
    d: LockData


class AdvanceData(_Op):
    phase: Literal["lobby", "opening", "closed_session", "ended"]


class Advance(_Op):
    """Host: move the summit to its next phase."""

    op: Literal["advance"]
    d: AdvanceData


class AllowOverrun(_Op):
    op: Literal["allow_overrun"]
    d: Empty = Empty()


class TakeOver(_Op):
    """Interpreter: go live in its booth (nobody live, or the live one handed over)."""

    op: Literal["take_over"]
    d: Empty = Empty()


class HandOver(_Op):
    """The live interpreter: offer the channel to a booth mate; it stays live until one takes over."""

    op: Literal["hand_over"]
    d: Empty = Empty()


class CoughData(_Op):
    muted: bool


class Cough(_Op):
    """Interpreter: the cough key. While muted its channel voice is not forwarded."""

    op: Literal["cough"]
    d: CoughData


ClientOp = Annotated[
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
    | Cough,
    Field(discriminator="op"),
]
_client_op: TypeAdapter[ClientOp] = TypeAdapter(ClientOp)


def parse_client_json(text: str) -> dict[str, Any]:
    """Bound and parse a text frame; DAVE numeric ops pass on as dicts."""
    if len(text) > MAX_TEXT_FRAME:
        raise ProtocolError("too_large", f"text frames are limited to {MAX_TEXT_FRAME} bytes")
    try:
        message = json.loads(text)
    except (ValueError, RecursionError):  # RecursionError: arrays or objects nested too deep
        raise ProtocolError("malformed", "a text frame must be one JSON object") from None
    if not isinstance(message, dict):
        raise ProtocolError("malformed", "a text frame must be one JSON object")
    return message


def parse_client_op(message: dict[str, Any]) -> ClientOp:
    op = message.get("op")
    if not isinstance(op, str):
        raise ProtocolError("malformed", 'a Parley op is {"op": "<name>", "d": {...}}')
    try:
        return _client_op.validate_python(message)
    except ValidationError as e:
        first = e.errors()[0]
        if first["type"] == "union_tag_invalid":
            raise ProtocolError("unknown_op", f"unknown op {op!r}") from None
        where = ".".join(str(p) for p in first["loc"])
        raise ProtocolError("invalid", f"{op}: {where}: {first['msg']}") from None


# -- server to client ---------------------------------------------------------------------------


class DeviceInfo(_Op):
    user_id: int
    delegation_id: str
    delegation: str
    role: str
    people: list[str]
    publishing: bool = False
    language: str | None = None  # an interpreter's channel: its feed is not the floor
    key: str  # the DAVE signature key it identified with (base64url): its leaf must carry it
    link: str  # an opaque tag of its invitation: the same link coming back with another key shows


class SummitInfo(_Op):
    summit_id: str
    title: str
    scheduled_start: str  # ISO 8601, UTC
    duration_minutes: int
    channel_id: int
    delegations: list[dict[str, str]]
    languages: list[str]
    ducking: float


def text_frame(message: dict[str, Any]) -> str:
    """Any JSON op (Parley's or DAVE's) as the compact text frame to send."""
    return json.dumps(message, separators=(",", ":"))


def server_op(op: str, data: BaseModel | dict[str, Any]) -> str:
    """A Parley op as the text frame to send."""
    d = data.model_dump(mode="json") if isinstance(data, BaseModel) else data
    return text_frame({"op": op, "d": d})
