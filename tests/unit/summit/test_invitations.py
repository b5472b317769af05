"""Invitation tokens: only this server's secret mints them, and any change to one is caught."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from parley.summit.invitations import (
    MAX_TOKEN_LENGTH,
    Claims,
    ExpiredToken,
    ForgedToken,
    InvitationError,
    InvitationSigner,
    RevokedInvitation,
    UnknownInvitation,
    WrongSummit,
)
from parley.summit.model import Role

SECRET = bytes(range(32))
B64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
NOW = 1_800_000_000
CLAIMS = Claims(
    invitation_id="inv-1",
    summit_id="summit-1",
    delegation_id="deleg-1",
    role=Role.DELEGATE,
    expires_at=NOW + 3600,
)


def signer() -> InvitationSigner:
    return InvitationSigner(SECRET)


def token() -> str:
    return signer().mint(CLAIMS)


def replace_char(text: str, index: int) -> str:
    """`text` with the character at `index` swapped for another base64url character."""
    old = text[index]
    return text[:index] + ("A" if old != "A" else "B") + text[index + 1 :]


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def test_a_minted_token_verifies_to_the_same_claims() -> None:
    assert signer().verify(token()) == CLAIMS


def test_every_role_survives_the_round_trip() -> None:
    for role in Role:
        claims = Claims("i", "s", "d", role, NOW + 1)
        assert signer().verify(signer().mint(claims)).role is role


def test_a_token_has_the_documented_form() -> None:
    prefix, payload, mac = token().split(".")
    assert prefix == "pv1"
    assert "=" not in payload and "=" not in mac
    assert json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))) == {
        "i": "inv-1",
        "s": "summit-1",
        "d": "deleg-1",
        "r": "delegate",
        "e": NOW + 3600,
    }


@pytest.mark.parametrize("index", [i for i, c in enumerate(token()) if i >= len("pv1.") and c != "."])
def test_changing_any_payload_or_mac_character_makes_the_token_forged(index: int) -> None:
    with pytest.raises(ForgedToken):
        signer().verify(replace_char(token(), index))


def test_changing_the_last_mac_character_within_its_spare_bits_is_still_forged() -> None:
    # 32 MAC bytes are 43 base64 characters; the last carries 2 bits and 4 spare ones that decoding
    # ignores. A token must have one spelling, so this counts as tampering.
    prefix, payload, mac = token().split(".")
    sibling = B64URL[B64URL.index(mac[-1]) ^ 1]
    assert base64.urlsafe_b64decode(mac[:-1] + sibling + "=") == base64.urlsafe_b64decode(mac + "=")
    with pytest.raises(ForgedToken):
        signer().verify(f"{prefix}.{payload}.{mac[:-1]}{sibling}")


@pytest.mark.parametrize("suffix", ["=", "==", "===="])
def test_padding_added_to_the_mac_makes_the_token_forged(suffix: str) -> None:
    with pytest.raises(ForgedToken):
        signer().verify(token() + suffix)


def test_a_changed_payload_byte_makes_the_token_forged() -> None:
    prefix, payload, mac = token().split(".")
    body = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    for changed in (
        body.replace(b'"delegate"', b'"host"'),
        body.replace(str(NOW + 3600).encode(), str(NOW + 3601).encode()),
        body.replace(b"summit-1", b"summit-2"),
    ):
        assert changed != body
        with pytest.raises(ForgedToken):
            signer().verify(f"{prefix}.{b64(changed)}.{mac}")


@pytest.mark.parametrize("prefix", ["pv2", "PV1", "", "pv1 "])
def test_another_prefix_makes_the_token_forged(prefix: str) -> None:
    _, payload, mac = token().split(".")
    with pytest.raises(ForgedToken, match="not a Parley invitation"):
        signer().verify(f"{prefix}.{payload}.{mac}")


def test_extra_or_missing_dots_make_the_token_forged() -> None:
    prefix, payload, mac = token().split(".")
    for bad in (
        f"{prefix}.{payload}{mac}",
        f"{prefix}{payload}.{mac}",
        f"{prefix}.{payload}.{mac}.",
        f".{prefix}.{payload}.{mac}",
        f"{prefix}..{payload}.{mac}",
        f"{prefix}.{payload}.{mac[:10]}.{mac[10:]}",
        "",
        ".",
        "..",
    ):
        with pytest.raises(ForgedToken):
            signer().verify(bad)


@pytest.mark.parametrize("junk", ["!", "*", " ", "\n", "+", "/", "é", "\ud800", "\x00"])
def test_non_base64_characters_make_the_token_forged(junk: str) -> None:
    prefix, payload, mac = token().split(".")
    for bad in (
        f"{prefix}.{payload[:5]}{junk}{payload[5:]}.{mac}",
        f"{prefix}.{payload}.{mac[:5]}{junk}{mac[5:]}",
        f"{prefix}.{payload}.{mac}{junk}",
    ):
        with pytest.raises(ForgedToken):
            signer().verify(bad)


def test_a_token_over_the_length_limit_is_forged_before_any_decoding() -> None:
    long_claims = Claims("i" * MAX_TOKEN_LENGTH, "s", "d", Role.HOST, NOW + 1)
    long_token = signer().mint(long_claims)
    assert len(long_token) > MAX_TOKEN_LENGTH
    with pytest.raises(ForgedToken, match="not a Parley invitation"):
        signer().verify(long_token)


def test_a_token_of_exactly_the_length_limit_is_accepted() -> None:
    minted = (signer().mint(Claims("i" * n, "s", "d", Role.HOST, NOW + 1)) for n in range(MAX_TOKEN_LENGTH))
    at_limit = next(t for t in minted if len(t) >= MAX_TOKEN_LENGTH)
    assert len(at_limit) == MAX_TOKEN_LENGTH
    assert signer().verify(at_limit).invitation_id.startswith("i")


def test_a_token_minted_with_another_secret_is_forged() -> None:
    other = InvitationSigner(bytes(range(1, 33))).mint(CLAIMS)
    with pytest.raises(ForgedToken, match="damaged or forged"):
        signer().verify(other)


def test_claims_of_the_wrong_shape_under_a_valid_mac_are_forged() -> None:
    def signed(body: bytes) -> str:
        payload = b64(body)
        mac = b64(hmac.new(SECRET, f"pv1.{payload}".encode(), hashlib.sha256).digest())
        return f"pv1.{payload}.{mac}"

    good = {"i": "i", "s": "s", "d": "d", "r": "host", "e": NOW + 1}
    assert signer().verify(signed(json.dumps(good).encode())).role is Role.HOST
    for body in (
        [good],
        "text",
        {k: v for k, v in good.items() if k != "r"},
        good | {"r": "emperor"},
        good | {"e": "soon"},
        good | {"e": None},
    ):
        with pytest.raises(ForgedToken):
            signer().verify(signed(json.dumps(body).encode()))
    for raw in (b"not json", b"\xff\xfe", b""):
        with pytest.raises(ForgedToken):
            signer().verify(signed(raw))


@pytest.mark.parametrize("length", [0, 16, 31])
def test_a_secret_shorter_than_32_bytes_is_refused(length: int) -> None:
    with pytest.raises(ValueError, match="at least 32 bytes"):
        InvitationSigner(b"k" * length)


def test_a_32_byte_secret_is_enough() -> None:
    InvitationSigner(b"k" * 32)


def test_every_invitation_error_has_its_own_code() -> None:
    kinds = (ForgedToken, ExpiredToken, WrongSummit, RevokedInvitation, UnknownInvitation)
    assert len({cls.kind for cls in kinds}) == len(kinds)
    assert all(cls("why").code == cls.kind for cls in kinds)


@given(st.text(alphabet=st.characters(exclude_categories=()), max_size=1100))
def test_random_strings_raise_only_invitation_errors(text: str) -> None:
    with pytest.raises(InvitationError):
        signer().verify(text)


@given(st.lists(st.text(alphabet=B64URL + "=!.", max_size=80), min_size=2, max_size=2))
def test_random_tokens_with_the_prefix_are_forged(parts: list[str]) -> None:
    with pytest.raises(ForgedToken):
        signer().verify("pv1." + ".".join(parts))


INTERPRETER = Claims("inv-2", "summit-1", "deleg-1", Role.INTERPRETER, NOW + 3600, language="zh-Hans")


def test_an_interpreter_token_carries_its_language_under_l_and_round_trips() -> None:
    minted = signer().mint(INTERPRETER)
    payload = minted.split(".")[1]
    body = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    assert body["l"] == "zh-Hans" and body["r"] == "interpreter"
    assert signer().verify(minted) == INTERPRETER


def test_a_token_without_a_language_has_no_l_and_verifies_to_none() -> None:
    payload = token().split(".")[1]
    assert "l" not in json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    assert signer().verify(token()).language is None


def test_changing_any_character_of_an_interpreter_token_makes_it_forged() -> None:
    minted = signer().mint(INTERPRETER)
    for index in (i for i, c in enumerate(minted) if i >= len("pv1.") and c != "."):
        with pytest.raises(ForgedToken):
            signer().verify(replace_char(minted, index))


def test_changing_adding_or_removing_the_language_under_the_old_mac_makes_the_token_forged() -> None:
    def payload_of(t: str) -> dict[str, object]:
        payload = t.split(".")[1]
        decoded: dict[str, object] = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        return decoded

    def rebuilt(t: str, body: dict[str, object]) -> str:
        prefix, _, mac = t.split(".")
        return f"{prefix}.{b64(json.dumps(body, separators=(',', ':'), sort_keys=True).encode())}.{mac}"

    interpreter, delegate = signer().mint(INTERPRETER), token()
    for tampered in (
        rebuilt(interpreter, payload_of(interpreter) | {"l": "ru"}),
        rebuilt(interpreter, {k: v for k, v in payload_of(interpreter).items() if k != "l"}),
        rebuilt(delegate, payload_of(delegate) | {"l": "ru"}),
    ):
        with pytest.raises(ForgedToken):
            signer().verify(tampered)
    assert rebuilt(interpreter, payload_of(interpreter)) == interpreter  # the rebuilding itself is exact


def test_a_device_user_id_is_stable_for_one_link_and_key_and_differs_otherwise() -> None:
    signer = InvitationSigner(b"k" * 32)
    key, other_key = b"\x04" + b"1" * 64, b"\x04" + b"2" * 64
    user_id = signer.device_user_id("inv-1", key)
    assert user_id == signer.device_user_id("inv-1", key) and 0 < user_id < 1 << 52
    assert user_id != signer.device_user_id("inv-1", other_key)
    assert user_id != signer.device_user_id("inv-2", key)
    assert user_id != InvitationSigner(b"j" * 32).device_user_id("inv-1", key)  # keyed by the secret
    assert signer.link_tag("inv-1") == signer.link_tag("inv-1") != signer.link_tag("inv-2")
