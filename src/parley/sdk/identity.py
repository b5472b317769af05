"""A participant's persistent DAVE signature key.

Pairwise codes are only worth comparing if they stay the same from one call to the next, so
the key is kept in a file the caller names. `SignatureKeyPair.dump` writes the private key in
the clear (a JWK): the file is created owner-only and refused if others can read it.
"""

from __future__ import annotations

import base64
import json
import os
import stat
from pathlib import Path

import dave
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

KEY_VERSION = 1  # DAVE protocol version the key is for (P-256)


class KeyFileError(Exception):
    """The key file exists but cannot be used safely."""


def load_or_create_signature_key(path: Path) -> dave.SignatureKeyPair:
    """Load the key at `path`, or generate one and save it there (mode 0600)."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return _load(path)
    key = dave.SignatureKeyPair.generate(KEY_VERSION)
    with os.fdopen(fd, "w") as f:
        f.write(key.dump(KEY_VERSION))
    return key


def _load(path: Path) -> dave.SignatureKeyPair:
    mode = path.stat().st_mode
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise KeyFileError(f"{path} is accessible to other users; run: chmod 600 {path}")
    try:
        return dave.SignatureKeyPair.load(KEY_VERSION, path.read_text())
    except (ValueError, RuntimeError) as e:
        raise KeyFileError(f"{path} does not hold a DAVE signature key") from e


def _jwk_int(jwk: dict[str, str], field: str) -> bytes:
    return base64.urlsafe_b64decode(jwk[field] + "=" * (-len(jwk[field]) % 4)).rjust(32, b"\x00")


def public_key(key: dave.SignatureKeyPair) -> bytes:
    """The key's public half as DAVE puts it in a leaf: the uncompressed P-256 point (65 bytes)."""
    jwk = json.loads(key.dump(KEY_VERSION))
    return b"\x04" + _jwk_int(jwk, "x") + _jwk_int(jwk, "y")


def private_key(key: dave.SignatureKeyPair) -> ec.EllipticCurvePrivateKey:
    """The key's private half as `cryptography` uses it: to sign, and to open a grant of the
    record key sealed to this device (parley.record.keys, P-256 ECDH with the same scalar)."""
    jwk = json.loads(key.dump(KEY_VERSION))
    return ec.derive_private_key(int.from_bytes(_jwk_int(jwk, "d"), "big"), ec.SECP256R1())


def sign(key: dave.SignatureKeyPair, message: bytes) -> bytes:
    """An ECDSA P-256 SHA-256 signature of `message` by this key, r || s (64 bytes): how a device
    proves at identify that it holds the key it names."""
    r, s = decode_dss_signature(private_key(key).sign(message, ec.ECDSA(hashes.SHA256())))
    return r.to_bytes(32, "big") + s.to_bytes(32, "big")
