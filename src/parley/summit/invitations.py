"""Invitation tokens: what an invite link carries.

A token names an invitation, its summit, delegation and role (and an interpreter's language), and
when it expires, and is authenticated with HMAC-SHA256 under the server's secret: only this
server can mint one, and any change to it is detected. Form: `pv1.<base64url JSON claims>.<base64url
MAC>`. `verify` says only that this server minted the token, unchanged; what the token admits
to, now (expiry, summit, the invitation on record, revocation, role and language), is decided by
`parley.summit.admission.admit`.

Errors (all `InvitationError`, with a message a person can act on):
* ForgedToken     - not a token of this server (bad form or MAC), raised by `verify`
* ExpiredToken    - past its expiry
* WrongSummit     - a valid token, for another summit than the one asked for
* RevokedInvitation / UnknownInvitation - withdrawn, or not (any more) on record
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from dataclasses import dataclass
from typing import ClassVar

from parley.protocol.codes import ErrorCode
from parley.protocol.errors import ParleyError
from parley.summit.model import Role

_PREFIX = "pv1"
MAX_TOKEN_LENGTH = 1024
USER_ID_BITS = 52  # a user id stays exact as a JavaScript number (2^53)


class InvitationError(ParleyError):
    """An invitation cannot admit this device; the message says why. Each kind (a subclass)
    has its code; this class itself is never raised."""

    kind: ClassVar[ErrorCode]

    def __init__(self, message: str) -> None:
        super().__init__(type(self).kind, message)


class ForgedToken(InvitationError):
    kind = ErrorCode.INVITATION_FORGED


class ExpiredToken(InvitationError):
    kind = ErrorCode.INVITATION_EXPIRED


class WrongSummit(InvitationError):
    kind = ErrorCode.INVITATION_WRONG_SUMMIT


class RevokedInvitation(InvitationError):
    kind = ErrorCode.INVITATION_REVOKED


class UnknownInvitation(InvitationError):
    kind = ErrorCode.INVITATION_UNKNOWN


@dataclass(frozen=True)
class Claims:
    invitation_id: str
    summit_id: str
    delegation_id: str
    role: Role
    expires_at: int  # unix seconds
    language: str | None = None  # an interpreter's channel


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class InvitationSigner:
    """Mints and checks tokens with the server's secret (32 bytes or more)."""

    def __init__(self, secret: bytes) -> None:
        if len(secret) < 32:
            raise ValueError("the invitation secret must be at least 32 bytes")
        self._secret = secret

    def _mac(self, message: bytes) -> bytes:
        return hmac.new(self._secret, message, hashlib.sha256).digest()

    def device_user_id(self, invitation_id: str, signature_key: bytes) -> int:
        """The DAVE user id of the device that holds `signature_key` and joins on this invitation.

        Derived, not drawn: the same device (same link, same key) gets the same user id every time
        it comes back, so the pairwise codes the others see of it stay the same from call to call
        and a changed code means a changed key. Another key on the same link is another device,
        with another user id. Keyed with the server's secret so ids say nothing outside it.
        """
        message = b"parley device user id\x00" + invitation_id.encode() + b"\x00" + signature_key
        return int.from_bytes(self._mac(message)[:8], "big") >> (64 - USER_ID_BITS) or 1

    def link_tag(self, invitation_id: str) -> str:
        """A stable, opaque tag of an invitation that clients see in the roster: it lets them
        notice that a link they met before comes back with another key."""
        return self._mac(b"parley link tag\x00" + invitation_id.encode())[:8].hex()

    def mint(self, claims: Claims) -> str:
        body: dict[str, str | int] = {
            "i": claims.invitation_id,
            "s": claims.summit_id,
            "d": claims.delegation_id,
            "r": claims.role.value,
            "e": claims.expires_at,
        }
        if claims.language is not None:
            body["l"] = claims.language
        payload = _b64(json.dumps(body, separators=(",", ":"), sort_keys=True).encode())
        signed = f"{_PREFIX}.{payload}"
        return f"{signed}.{_b64(self._mac(signed.encode()))}"

    def verify(self, token: str) -> Claims:
        """The token's claims, if this server minted it; whether they admit anyone now is
        `admission.admit`'s to say."""
        if len(token) > MAX_TOKEN_LENGTH or not token.isascii() or token.count(".") != 2:
            raise ForgedToken("this is not a Parley invitation")
        prefix, payload, mac = token.split(".")
        if prefix != _PREFIX:
            raise ForgedToken("this is not a Parley invitation")
        # The MAC is compared as the text minted, before anything is decoded: base64 decoding
        # ignores padding and a last character's spare bits, so comparing decoded bytes would
        # accept other spellings of the same token.
        if not hmac.compare_digest(mac, _b64(self._mac(f"{prefix}.{payload}".encode()))):
            raise ForgedToken("this invitation is damaged or forged")
        try:
            body = json.loads(_unb64(payload))
        except (binascii.Error, ValueError):
            raise ForgedToken("this invitation is damaged or forged") from None
        try:
            claims = Claims(
                invitation_id=str(body["i"]),
                summit_id=str(body["s"]),
                delegation_id=str(body["d"]),
                role=Role(body["r"]),
                expires_at=int(body["e"]),
                language=None if body.get("l") is None else str(body["l"]),
            )
        except (KeyError, TypeError, ValueError):
            raise ForgedToken("this invitation is damaged or forged") from None
        return claims
