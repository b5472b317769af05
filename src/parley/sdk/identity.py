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


def public_key(key: dave.SignatureKeyPair) -> bytes:
    """The key's public half as DAVE puts it in a leaf: the uncompressed P-256 point (65 bytes)."""
    jwk = json.loads(key.dump(KEY_VERSION))
    x, y = (base64.urlsafe_b64decode(jwk[c] + "=" * (-len(jwk[c]) % 4)) for c in ("x", "y"))
    return b"\x04" + x.rjust(32, b"\x00") + y.rjust(32, b"\x00")
