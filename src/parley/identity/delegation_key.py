"""A delegation's long-term signing key, made and held by that delegation's security officer.

It certifies the delegation's devices, signs their revocations and the pins its devices trust;
the server never sees it. Ed25519: small keys (32 bytes, the fingerprint's input), deterministic
signatures (no nonce to get wrong on an officer's laptop), and WebCrypto signs and verifies it
in the browser, so the officer's console can run there too.

At rest the private key is sealed with the officer's passphrase, in a JSON file of its own
(mode 0600, never overwritten):

    {"kind": "parley delegation key", "version": 1,
     "public_key": b64url(32 bytes), "log2_n": 17, "salt": b64url(16 bytes),
     "nonce": b64url(12 bytes), "sealed": b64url(AES-256-GCM(32-byte private key))}

The AES key is scrypt(passphrase, salt, n = 2^log2_n, r = 8, p = 1): 128 MiB and a fraction of a
second per guess at the default cost, so a stolen file does not give way to a dictionary. The
associated data binds the public key and the scrypt parameters (`_header`): a file whose public
key was swapped, or whose cost was lowered, does not open. The public key is in the clear so
that `parley delegation fingerprint FILE` needs no passphrase; anything that signs opens the file
and so checks it.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import stat
from pathlib import Path

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from parley.identity.fingerprint import PUBLIC_KEY_SIZE, Fingerprint
from parley.protocol.fields import b64url, unb64url

KIND = "parley delegation key"
VERSION = 1
DEFAULT_LOG2_N = 17  # scrypt cost: 2^17 * 128 * r bytes = 128 MiB per guess
# Below 2^14 a guess is cheap enough to try a dictionary; above 2^20 (1 GiB) a file could make
# the officer's machine swap. Tests use the minimum.
MIN_LOG2_N, MAX_LOG2_N = 14, 20
_SCRYPT_R, _SCRYPT_P = 8, 1
MIN_PASSPHRASE = 12  # characters: a few words; scrypt slows guessing, it cannot save "secret"
_HEADER_LABEL = b"parley delegation key file v1\x00"


class DelegationKeyError(Exception):
    """A delegation key file cannot be made, opened or trusted; the message says why and what to do."""


class DelegationKey:
    """The private half, in memory only while the officer signs."""

    def __init__(self, private: Ed25519PrivateKey) -> None:
        self._private = private

    @classmethod
    def generate(cls) -> DelegationKey:
        return cls(Ed25519PrivateKey.generate())

    @property
    def public_key(self) -> bytes:
        """The 32 raw bytes: what certificates name as their issuer and fingerprints hash."""
        return self._private.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )

    @property
    def fingerprint(self) -> Fingerprint:
        return Fingerprint.of(self.public_key)

    def sign(self, message: bytes) -> bytes:
        return self._private.sign(message)

    def x25519_private(self) -> X25519PrivateKey:
        """This key's X25519 form, to open what was sealed to the delegation (a record key grant,
        parley.record.keys): the clamped first half of SHA-512 of the seed, as libsodium's
        `crypto_sign_ed25519_sk_to_curve25519` makes it."""
        scalar = bytearray(hashlib.sha512(self._raw_private()).digest()[:32])
        scalar[0] &= 248
        scalar[31] &= 127
        scalar[31] |= 64
        return X25519PrivateKey.from_private_bytes(bytes(scalar))

    def _raw_private(self) -> bytes:
        return self._private.private_bytes(
            serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
        )


def verify_signature(public_key: bytes, message: bytes, signature: bytes) -> bool:
    """Whether `signature` is the Ed25519 signature of `message` by the delegation key `public_key`."""
    if len(public_key) != PUBLIC_KEY_SIZE:
        return False
    try:
        Ed25519PublicKey.from_public_bytes(public_key).verify(signature, message)
    except (InvalidSignature, ValueError):
        return False
    return True


def _header(public_key: bytes, log2_n: int, salt: bytes) -> bytes:
    return _HEADER_LABEL + public_key + bytes([log2_n, _SCRYPT_R, _SCRYPT_P]) + salt


def _sealing_key(passphrase: str, log2_n: int, salt: bytes) -> bytes:
    kdf = Scrypt(salt=salt, length=32, n=1 << log2_n, r=_SCRYPT_R, p=_SCRYPT_P)
    return kdf.derive(passphrase.encode("utf-8"))


def save_key(key: DelegationKey, path: Path, passphrase: str, log2_n: int = DEFAULT_LOG2_N) -> None:
    """Seal `key` with `passphrase` into a new file at `path` (0600). An existing file is never
    replaced: losing a delegation key loses every certificate it made."""
    if len(passphrase) < MIN_PASSPHRASE:
        raise DelegationKeyError(f"a passphrase has at least {MIN_PASSPHRASE} characters (a few words)")
    if not MIN_LOG2_N <= log2_n <= MAX_LOG2_N:
        raise DelegationKeyError(f"the scrypt cost is 2^{MIN_LOG2_N} to 2^{MAX_LOG2_N}")
    salt, nonce = secrets.token_bytes(16), secrets.token_bytes(12)
    sealed = AESGCM(_sealing_key(passphrase, log2_n, salt)).encrypt(
        nonce, key._raw_private(), _header(key.public_key, log2_n, salt)
    )
    document = {
        "kind": KIND,
        "version": VERSION,
        "public_key": b64url(key.public_key),
        "log2_n": log2_n,
        "salt": b64url(salt),
        "nonce": b64url(nonce),
        "sealed": b64url(sealed),
    }
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise DelegationKeyError(f"{path} exists; a delegation key is never overwritten") from None
    with os.fdopen(fd, "w") as f:
        json.dump(document, f, indent=1)
        f.write("\n")


def _read(path: Path) -> dict[str, object]:
    try:
        mode = path.stat().st_mode
        text = path.read_text()
    except OSError as e:
        raise DelegationKeyError(f"cannot read {path}: {e.strerror}") from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise DelegationKeyError(f"{path} is accessible to other users; run: chmod 600 {path}")
    try:
        document = json.loads(text)
    except ValueError:
        document = None
    if not isinstance(document, dict) or document.get("kind") != KIND or document.get("version") != VERSION:
        raise DelegationKeyError(f"{path} is not a Parley delegation key file")
    return document


def _field(document: dict[str, object], name: str, size: int | None = None) -> bytes:
    value = document.get(name)
    try:
        data = unb64url(value) if isinstance(value, str) else None
    except ValueError:
        data = None
    if data is None or (size is not None and len(data) != size):
        raise DelegationKeyError(f"the delegation key file's {name!r} is damaged")
    return data


def read_public_key(path: Path) -> bytes:
    """The public key a key file names, without its passphrase (to print its fingerprint)."""
    return _field(_read(path), "public_key", PUBLIC_KEY_SIZE)


def load_key(path: Path, passphrase: str) -> DelegationKey:
    """Open a key file with its passphrase; a wrong passphrase and an altered file are refused alike
    (AES-GCM cannot tell them apart)."""
    document = _read(path)
    public_key = _field(document, "public_key", PUBLIC_KEY_SIZE)
    log2_n = document.get("log2_n")
    if not isinstance(log2_n, int) or not MIN_LOG2_N <= log2_n <= MAX_LOG2_N:
        raise DelegationKeyError("the delegation key file's 'log2_n' is damaged")
    salt, nonce = _field(document, "salt", 16), _field(document, "nonce", 12)
    try:
        raw = AESGCM(_sealing_key(passphrase, log2_n, salt)).decrypt(
            nonce, _field(document, "sealed"), _header(public_key, log2_n, salt)
        )
    except InvalidTag:
        raise DelegationKeyError(f"wrong passphrase for {path} (or the file was altered)") from None
    key = DelegationKey(Ed25519PrivateKey.from_private_bytes(raw))
    if key.public_key != public_key:  # sealed under the header, so only a broken writer gets here
        raise DelegationKeyError(f"{path} holds a private key that does not match its public key")
    return key
