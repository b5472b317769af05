"""The values ops carry, and their bounds: names, signature keys and their proofs, languages.

Each bound is here once, beside the reason for it; the op models (device_ops, server_ops) only
name these types.
"""

from __future__ import annotations

import base64
import unicodedata
from typing import Annotated

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from pydantic import AfterValidator, Field
from pydantic.fields import FieldInfo

from parley.protocol.vocabulary import LANGUAGE_PATTERN

PROTOCOL_VERSION = 1
MAX_TEXT_FRAME = 64 * 1024  # an SDP with audio and video is a few KB
MAX_PEOPLE = 8  # people at one device, shown to everyone in the roster and the lobby
MAX_NAME = 64  # characters (code points, after NFC) of one person's name
MAX_SDP = 48 * 1024
MAX_CANDIDATE = 1024
# Numbers a browser holds exactly (2^53): user ids, feeds, nonces and request ids stay below.
MAX_SAFE = 1 << 53

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


def verify_key_proof(key: bytes, message: bytes, proof: bytes) -> bool:
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


Language = Annotated[str, Field(pattern=LANGUAGE_PATTERN)]  # a channel: 13 characters at most
UserId = Annotated[int, Field(ge=1, lt=MAX_SAFE)]
Sdp = Annotated[str, Field(min_length=1, max_length=MAX_SDP)]


# Identity documents (parley.identity, docs/identity.md) travel as their text form,
# `<kind>:<base64url>`. Here: their shape and size, so a frame holding something else is refused
# at the edge; their canonical form and signatures are checked by parley.identity where they are
# read (the server, for clear errors; every client, because it trusts no server).
MAX_DOCUMENT_TEXT = 24 * 1024  # 16 KiB of document in base64url, with its kind and line breaks


def _document(kind: str) -> FieldInfo:
    pattern = rf"^{kind}:[A-Za-z0-9_\-\s]+$"
    field: FieldInfo = Field(min_length=len(kind) + 2, max_length=MAX_DOCUMENT_TEXT, pattern=pattern)
    return field


EnrollmentText = Annotated[str, _document("parley-enrollment")]
CertificateText = Annotated[str, _document("parley-certificate")]
RevocationsText = Annotated[str, _document("parley-revocations")]
PinSetText = Annotated[str, _document("parley-pins")]
AttestationText = Annotated[str, _document("parley-attestation")]
# The record's documents (parley.record, docs/record.md).
RecordEntryText = Annotated[str, _document("parley-record-entry")]
RecordGrantText = Annotated[str, _document("parley-record-grant")]
RecordHeadText = Annotated[str, _document("parley-record-head")]
SignerListText = Annotated[str, _document("parley-signers")]
# An entry's encrypted statement, base64url: a statement holds at most ~4.3 KiB of text; "" for
# the kinds without one (sign, seal).
MAX_CIPHERTEXT_TEXT = 8 * 1024
Ciphertext = Annotated[str, Field(max_length=MAX_CIPHERTEXT_TEXT, pattern=r"^[A-Za-z0-9_-]*$")]
# A delegation's Ed25519 public key (32 bytes) and an Ed25519 signature (64 bytes), base64url.
DelegationKeyText = Annotated[str, Field(min_length=43, max_length=43, pattern=r"^[A-Za-z0-9_-]{43}$")]
Ed25519SignatureText = Annotated[str, Field(min_length=86, max_length=86, pattern=r"^[A-Za-z0-9_-]{86}$")]
# A delegation key's fingerprint as the organiser pins it: 30 digits (blanks allowed between groups).
FingerprintText = Annotated[str, Field(min_length=30, max_length=40, pattern=r"^[0-9 ]+$")]
# As the server shows it (the summit's pins): exactly the 30 digits, so that a client parses what
# passed the schema without a second rule to fail.
FingerprintDigits = Annotated[str, Field(min_length=30, max_length=30, pattern=r"^[0-9]{30}$")]
