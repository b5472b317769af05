"""What a device says it is, and what its delegation's officer vouches for by signing it.

A device's enrollment request carries its claim; the certificate its officer returns carries the
same claim, plus a validity window and a serial. The claim is exactly what the roster shows of a
device and what the key group holds of it, so that a client can hold each of them against it:

    text   summit_id       the summit it is for (a certificate is good for that summit only)
    text   delegation_id   the summit's id for the delegation
    text   delegation      the delegation's name, as the summit and the pins name it
    text   role            parley.protocol.vocabulary.Role's value
    u8 n, text people[n]   the names of those at the device, 1 to 8, NFC (as identify takes them)
    text   language        an interpreter's channel; "" for every other role
    opaque device_key      the device's DAVE signature key: the 65-byte uncompressed P-256 point
    u64    user_id         the DAVE user id it will use (derived by the server from link and key)
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric import ec

from parley.identity.encoding import Reader, Writer
from parley.protocol.fields import MAX_PEOPLE, MAX_SAFE, check_name
from parley.protocol.vocabulary import LANGUAGE_PATTERN, Role

_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
_LANGUAGE = re.compile(LANGUAGE_PATTERN)
DEVICE_KEY_SIZE = 65


def check_device_key(key: bytes) -> None:
    """A DAVE signature key as DAVE puts it in a leaf: an uncompressed point on P-256."""
    if len(key) != DEVICE_KEY_SIZE or key[0] != 4:
        raise ValueError("a device key is a 65-byte uncompressed P-256 point")
    try:
        ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), key)
    except ValueError:
        raise ValueError("a device key is a point on P-256") from None


def _check_shown_name(name: str, what: str) -> None:
    """A name exactly as every device shows it (check_name would leave it unchanged): one byte
    form per name, so one signature per claim."""
    try:
        canonical = check_name(name)
    except ValueError as e:
        raise ValueError(f"{what}: {e}") from None
    if canonical != name:
        raise ValueError(f"{what} must be NFC, without surrounding blanks")


@dataclass(frozen=True)
class DeviceClaim:
    summit_id: str
    delegation_id: str
    delegation: str
    role: Role
    people: tuple[str, ...]
    language: str | None
    device_key: bytes
    user_id: int

    def __post_init__(self) -> None:
        for what, value in (("summit_id", self.summit_id), ("delegation_id", self.delegation_id)):
            if not _ID.fullmatch(value):
                raise ValueError(f"{what} is 1 to 64 letters, digits, '-' or '_'")
        _check_shown_name(self.delegation, "the delegation's name")
        if not 1 <= len(self.people) <= MAX_PEOPLE:
            raise ValueError(f"a device has 1 to {MAX_PEOPLE} people")
        for name in self.people:
            _check_shown_name(name, "a name")
        if (self.language is not None) != (self.role is Role.INTERPRETER):
            raise ValueError("an interpreter, and only an interpreter, names a language")
        if self.language is not None and not _LANGUAGE.fullmatch(self.language):
            raise ValueError("a language is a tag such as 'en' or 'zh-Hans'")
        check_device_key(self.device_key)
        if not 1 <= self.user_id < MAX_SAFE:
            raise ValueError("a user id is from 1 to 2^53 - 1")

    def write(self, writer: Writer) -> Writer:
        return (
            writer.text(self.summit_id)
            .text(self.delegation_id)
            .text(self.delegation)
            .text(self.role.value)
            .texts(self.people)
            .text(self.language or "")
            .opaque(self.device_key)
            .u64(self.user_id)
        )

    @classmethod
    def read(cls, reader: Reader) -> DeviceClaim:
        summit_id, delegation_id, delegation = (
            reader.text("summit"),
            reader.text("delegation"),
            reader.text("name"),
        )
        role_text, people = reader.text("role"), tuple(reader.texts("people"))
        language, device_key, user_id = reader.text("language"), reader.opaque("key"), reader.u64("user id")
        try:
            role = Role(role_text)
        except ValueError:
            raise ValueError(f"no role {role_text!r}") from None
        return cls(summit_id, delegation_id, delegation, role, people, language or None, device_key, user_id)

    def describe(self) -> str:
        """One line for a person to read before signing: who, which delegation, which device."""
        role = f"{self.role.value} ({self.language})" if self.language else self.role.value
        people = ", ".join(self.people)
        return f"{people}: {self.delegation} {role}, user {self.user_id}, summit {self.summit_id}"
