"""The record key: what every entry's text is encrypted under, and its grants to readers.

One random 32-byte key `R` per summit, made by the first device that writes; the server stores
ciphertexts and grants and can read neither (docs/record.md, "Confidentiality"):

- `key_id = SHA-256("parley record key id v1" || 0x00 || R)[:16]`;
- text key `= HKDF-SHA256(ikm=R, salt="", info="parley record text v1", 32)`; an entry's
  ciphertext is `nonce(12) || AES-256-GCM(text key, nonce, statement, aad=commitment)`.

A grant (`parley-record-grant`) seals `R` to one reader, signed (ECDSA P-256) by the granting
device over `"parley record grant v1" || 0x00 || body`:

    u8     version = 1
    text   summit_id
    opaque key_id           16 bytes
    u8     recipient_kind   1 a device, 2 a delegation
    opaque recipient        a device: its 65-byte P-256 key; a delegation: its 32-byte Ed25519 key
    opaque ephemeral        a device: a 65-byte P-256 point; a delegation: a 32-byte X25519 key
    opaque sealed           nonce(12) || AES-256-GCM(wrap key, nonce, R, aad=key_id): 60 bytes
    opaque granter          16 bytes: the serial of the granting device's certificate

`wrap key = HKDF-SHA256(ikm=ECDH(ephemeral, recipient), salt="", info="parley record grant v1"
|| 0x00 || ephemeral || recipient || key_id, 32)`, `recipient` and `ephemeral` as the grant carries
them. A device's ECDH is P-256 with its DAVE key's scalar (the shared x-coordinate, 32 bytes); a
delegation's is X25519 with the X25519 form of its Ed25519 key (`x25519_public_of`, and
`DelegationKey.x25519_private`): the officer's key file opens the record with no device.
"""

from __future__ import annotations

import enum
import hashlib
import secrets
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from parley.identity.attestation import DeviceSigner
from parley.identity.claim import check_device_key
from parley.identity.delegation_key import DelegationKey
from parley.identity.encoding import Reader, SignedDocument, Writer
from parley.identity.fingerprint import PUBLIC_KEY_SIZE
from parley.identity.revocation import SERIAL_SIZE
from parley.protocol.fields import verify_key_proof
from parley.record.entry import KEY_ID_SIZE
from parley.record.statement import Statement

KEY_SIZE = 32
NONCE_SIZE = 12
SEALED_SIZE = NONCE_SIZE + KEY_SIZE + 16  # nonce, R, GCM tag
MAX_CIPHERTEXT = 8 * 1024  # a statement is at most ~4.4 KiB; the server refuses more
_KEY_ID_LABEL = b"parley record key id v1\x00"
_TEXT_INFO = b"parley record text v1"
GRANT_LABEL = b"parley record grant v1\x00"
DEVICE_KEY_SIZE = 65
X25519_SIZE = 32
_P = 2**255 - 19
_D = (-121665 * pow(121666, _P - 2, _P)) % _P  # Edwards25519's d


def _hkdf(ikm: bytes, info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(ikm)


@dataclass(frozen=True)
class RecordKey:
    secret: bytes

    def __post_init__(self) -> None:
        if len(self.secret) != KEY_SIZE:
            raise ValueError(f"a record key is {KEY_SIZE} bytes")

    @classmethod
    def new(cls) -> RecordKey:
        return cls(secrets.token_bytes(KEY_SIZE))

    @property
    def key_id(self) -> bytes:
        return hashlib.sha256(_KEY_ID_LABEL + self.secret).digest()[:KEY_ID_SIZE]

    def __repr__(self) -> str:  # never the secret, in a log or a traceback
        return f"RecordKey(key_id={self.key_id.hex()})"


def encrypt_statement(key: RecordKey, statement: Statement, nonce: bytes | None = None) -> bytes:
    """The ciphertext that travels beside the entry; `nonce` fixed only by known-answer tests."""
    nonce = nonce if nonce is not None else secrets.token_bytes(NONCE_SIZE)
    text_key = _hkdf(key.secret, _TEXT_INFO)
    return nonce + AESGCM(text_key).encrypt(nonce, statement.encode(), statement.commitment())


def decrypt_statement(key: RecordKey, ciphertext: bytes, commitment: bytes) -> Statement:
    """The statement an entry committed to; ValueError if the ciphertext does not open under this
    key with this commitment, or holds another statement than the one committed to."""
    if not NONCE_SIZE + 16 < len(ciphertext) <= MAX_CIPHERTEXT:
        raise ValueError("a text's ciphertext is a nonce, a statement and a tag, at most 8 KiB")
    text_key = _hkdf(key.secret, _TEXT_INFO)
    try:
        plain = AESGCM(text_key).decrypt(ciphertext[:NONCE_SIZE], ciphertext[NONCE_SIZE:], commitment)
    except InvalidTag:
        raise ValueError("the text does not decrypt under the record key with its commitment") from None
    statement = Statement.decode(plain)
    if statement.commitment() != commitment:
        raise ValueError("the text is not the statement its entry committed to")
    return statement


class RecipientKind(enum.IntEnum):
    DEVICE = 1
    DELEGATION = 2


@dataclass(frozen=True)
class RecordGrant(SignedDocument):
    KIND = "parley-record-grant"

    summit_id: str
    key_id: bytes
    recipient_kind: RecipientKind
    recipient: bytes
    ephemeral: bytes
    sealed: bytes
    granter: bytes
    signature: bytes

    def __post_init__(self) -> None:
        if len(self.key_id) != KEY_ID_SIZE or len(self.granter) != SERIAL_SIZE:
            raise ValueError(f"a key id is {KEY_ID_SIZE} bytes, a granter's serial {SERIAL_SIZE}")
        if not isinstance(self.recipient_kind, RecipientKind):
            raise ValueError("a grant is to a device (1) or a delegation (2)")
        if self.recipient_kind is RecipientKind.DEVICE:
            check_device_key(self.recipient)
            check_device_key(self.ephemeral)
        elif len(self.recipient) != PUBLIC_KEY_SIZE or len(self.ephemeral) != X25519_SIZE:
            raise ValueError("a delegation's grant names its 32-byte key and a 32-byte X25519 key")
        if len(self.sealed) != SEALED_SIZE:
            raise ValueError(f"a sealed record key is {SEALED_SIZE} bytes")
        self.check_signature_size()

    def body(self) -> bytes:
        return (
            Writer()
            .u8(self.VERSION)
            .text(self.summit_id)
            .opaque(self.key_id)
            .u8(self.recipient_kind)
            .opaque(self.recipient)
            .opaque(self.ephemeral)
            .opaque(self.sealed)
            .opaque(self.granter)
            .bytes()
        )

    @classmethod
    def read_fields(cls, reader: Reader, signature: bytes) -> RecordGrant:
        summit_id, key_id, kind_number = (
            reader.text("summit"),
            reader.opaque("key id"),
            reader.u8("recipient kind"),
        )
        try:
            kind = RecipientKind(kind_number)
        except ValueError:
            raise ValueError(f"no recipient kind {kind_number}") from None
        recipient, ephemeral, sealed = (
            reader.opaque("recipient"),
            reader.opaque("ephemeral"),
            reader.opaque("sealed"),
        )
        return cls(summit_id, key_id, kind, recipient, ephemeral, sealed, reader.opaque("granter"), signature)

    def verify(self, device_key: bytes) -> bool:
        """Whether the granting device's key (65-byte P-256 point, its certificate's) signed this."""
        try:
            return verify_key_proof(device_key, GRANT_LABEL + self.body(), self.signature)
        except ValueError:
            return False

    def _info(self) -> bytes:
        return GRANT_LABEL + self.ephemeral + self.recipient + self.key_id

    def _open(self, shared: bytes) -> RecordKey:
        wrap_key = _hkdf(shared, self._info())
        try:
            secret = AESGCM(wrap_key).decrypt(self.sealed[:NONCE_SIZE], self.sealed[NONCE_SIZE:], self.key_id)
        except InvalidTag:
            raise ValueError("the grant does not open with this key") from None
        key = RecordKey(secret)
        if key.key_id != self.key_id:
            raise ValueError("the grant holds another record key than the one it names")
        return key


def _seal(
    key: RecordKey,
    shared: bytes,
    sign: DeviceSigner,
    granter_serial: bytes,
    summit_id: str,
    kind: RecipientKind,
    recipient: bytes,
    ephemeral: bytes,
    nonce: bytes | None,
) -> RecordGrant:
    nonce = nonce if nonce is not None else secrets.token_bytes(NONCE_SIZE)
    unsealed = RecordGrant(
        summit_id, key.key_id, kind, recipient, ephemeral, bytes(SEALED_SIZE), granter_serial, bytes(64)
    )
    sealed = nonce + AESGCM(_hkdf(shared, unsealed._info())).encrypt(nonce, key.secret, key.key_id)
    grant = RecordGrant(summit_id, key.key_id, kind, recipient, ephemeral, sealed, granter_serial, bytes(64))
    return RecordGrant(
        summit_id,
        key.key_id,
        kind,
        recipient,
        ephemeral,
        sealed,
        granter_serial,
        sign(GRANT_LABEL + grant.body()),
    )


def _point(public: ec.EllipticCurvePublicKey) -> bytes:
    return public.public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)


def grant_to_device(
    key: RecordKey,
    recipient_device_key: bytes,
    sign: DeviceSigner,
    granter_serial: bytes,
    summit_id: str,
    *,
    ephemeral: ec.EllipticCurvePrivateKey | None = None,
    nonce: bytes | None = None,
) -> RecordGrant:
    """`R` sealed to a device's certified DAVE key, signed by this device (`ephemeral` and `nonce`
    fixed only by known-answer tests)."""
    check_device_key(recipient_device_key)
    ephemeral = ephemeral or ec.generate_private_key(ec.SECP256R1())
    recipient = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), recipient_device_key)
    shared = ephemeral.exchange(ec.ECDH(), recipient)
    return _seal(
        key,
        shared,
        sign,
        granter_serial,
        summit_id,
        RecipientKind.DEVICE,
        recipient_device_key,
        _point(ephemeral.public_key()),
        nonce,
    )


def grant_to_delegation(
    key: RecordKey,
    delegation_public_key: bytes,
    sign: DeviceSigner,
    granter_serial: bytes,
    summit_id: str,
    *,
    ephemeral: X25519PrivateKey | None = None,
    nonce: bytes | None = None,
) -> RecordGrant:
    """`R` sealed to a delegation's key (its officer's key file opens it), signed by this device."""
    ephemeral = ephemeral or X25519PrivateKey.generate()
    recipient = X25519PublicKey.from_public_bytes(x25519_public_of(delegation_public_key))
    try:
        shared = ephemeral.exchange(recipient)
    except ValueError:
        raise ValueError("the delegation key is a low-order point: nothing can be sealed to it") from None
    ephemeral_public = ephemeral.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    return _seal(
        key,
        shared,
        sign,
        granter_serial,
        summit_id,
        RecipientKind.DELEGATION,
        delegation_public_key,
        ephemeral_public,
        nonce,
    )


def open_device_grant(grant: RecordGrant, private_key: ec.EllipticCurvePrivateKey) -> RecordKey:
    """`R` from a grant to this device; ValueError if it is not for this key or does not open.
    (Whether its granter is certified and pinned is the caller's check, with `grant.verify`.)"""
    if grant.recipient_kind is not RecipientKind.DEVICE or grant.recipient != _point(
        private_key.public_key()
    ):
        raise ValueError("the grant is not for this device")
    ephemeral = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), grant.ephemeral)
    return grant._open(private_key.exchange(ec.ECDH(), ephemeral))


def open_delegation_grant(grant: RecordGrant, key: DelegationKey) -> RecordKey:
    """`R` from a grant to this delegation, opened with the officer's delegation key."""
    if grant.recipient_kind is not RecipientKind.DELEGATION or grant.recipient != key.public_key:
        raise ValueError("the grant is not for this delegation")
    try:
        shared = key.x25519_private().exchange(X25519PublicKey.from_public_bytes(grant.ephemeral))
    except ValueError:
        raise ValueError("the grant's ephemeral key is a low-order point") from None
    return grant._open(shared)


def x25519_public_of(ed25519_public: bytes) -> bytes:
    """The X25519 form of an Ed25519 public key: `u = (1 + y) / (1 - y) mod 2^255 - 19`, refusing
    what is not a point of the curve (ValueError)."""
    if len(ed25519_public) != PUBLIC_KEY_SIZE:
        raise ValueError("an Ed25519 public key is 32 bytes")
    y = int.from_bytes(ed25519_public, "little") & ((1 << 255) - 1)
    if y >= _P or y == 1:
        raise ValueError("not an Ed25519 public key")
    x2 = (y * y - 1) * pow(_D * y * y + 1, _P - 2, _P) % _P
    if x2 != 0 and pow(x2, (_P - 1) // 2, _P) != 1:  # no x: not on the curve
        raise ValueError("not an Ed25519 public key")
    u = (1 + y) * pow(1 - y, _P - 2, _P) % _P
    return u.to_bytes(X25519_SIZE, "little")
