"""The delegation key at rest and its fingerprint: sealed with a passphrase in a 0600 file that is
never overwritten, refused when others can read it, when altered, or with another passphrase; the
fingerprint is 30 digits read in groups and parsed back as typed. Real scrypt (at the lowest cost
a file may carry) and real AES-GCM, in a temporary folder."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from parley.identity.delegation_key import (
    MIN_LOG2_N,
    DelegationKey,
    DelegationKeyError,
    load_key,
    read_public_key,
    save_key,
    verify_signature,
)
from parley.identity.fingerprint import FINGERPRINT_DIGITS, Fingerprint

PASSPHRASE = "a delegation's own long passphrase"


def saved(tmp_path: Path) -> tuple[DelegationKey, Path]:
    key, path = DelegationKey.generate(), tmp_path / "delegation.key"
    save_key(key, path, PASSPHRASE, log2_n=MIN_LOG2_N)
    return key, path


def test_a_saved_key_opens_with_its_passphrase_signs_as_before_and_is_owner_only(tmp_path: Path) -> None:
    key, path = saved(tmp_path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    loaded = load_key(path, PASSPHRASE)
    assert loaded.public_key == key.public_key and loaded.fingerprint == key.fingerprint
    assert verify_signature(key.public_key, b"message", loaded.sign(b"message"))
    assert not verify_signature(key.public_key, b"another message", loaded.sign(b"message"))
    assert read_public_key(path) == key.public_key  # no passphrase needed to show the fingerprint


def test_the_file_holds_no_private_key_in_the_clear(tmp_path: Path) -> None:
    key, path = saved(tmp_path)
    assert key._raw_private().hex() not in path.read_text()
    assert PASSPHRASE not in path.read_text()


def test_a_wrong_passphrase_is_refused(tmp_path: Path) -> None:
    _, path = saved(tmp_path)
    with pytest.raises(DelegationKeyError, match="wrong passphrase"):
        load_key(path, "another long passphrase")


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("public_key", "_md2q8kSUaLfn4CdKF37NWGOa6DY5EP-Qyg_golOf2A"),  # another delegation's key
        ("log2_n", MIN_LOG2_N + 1),  # the cost changed
        ("salt", "AAAAAAAAAAAAAAAAAAAAAA"),
    ],
)
def test_an_altered_file_does_not_open(tmp_path: Path, field: str, value: object) -> None:
    _, path = saved(tmp_path)
    document = json.loads(path.read_text())
    document[field] = value
    path.write_text(json.dumps(document))
    with pytest.raises(DelegationKeyError, match="or the file was altered"):
        load_key(path, PASSPHRASE)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("not json", "not a Parley delegation key file"),
        ('{"kind": "parley delegation key", "version": 2}', "not a Parley delegation key file"),
        ('{"kind": "parley delegation key", "version": 1, "public_key": "short"}', "'public_key' is damaged"),
    ],
)
def test_a_file_that_is_not_a_delegation_key_says_so(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "other.key"
    path.write_text(content)
    path.chmod(0o600)
    with pytest.raises(DelegationKeyError, match=message):
        load_key(path, PASSPHRASE)


def test_a_cost_below_the_floor_is_refused_when_loading(tmp_path: Path) -> None:
    _, path = saved(tmp_path)
    document = json.loads(path.read_text())
    document["log2_n"] = MIN_LOG2_N - 1
    path.write_text(json.dumps(document))
    with pytest.raises(DelegationKeyError, match="'log2_n' is damaged"):
        load_key(path, PASSPHRASE)


def test_an_existing_file_is_never_overwritten(tmp_path: Path) -> None:
    key, path = saved(tmp_path)
    with pytest.raises(DelegationKeyError, match="never overwritten"):
        save_key(DelegationKey.generate(), path, PASSPHRASE, log2_n=MIN_LOG2_N)
    assert read_public_key(path) == key.public_key


def test_a_key_file_others_can_read_is_refused(tmp_path: Path) -> None:
    _, path = saved(tmp_path)
    os.chmod(path, 0o640)
    with pytest.raises(DelegationKeyError, match="chmod 600"):
        load_key(path, PASSPHRASE)


def test_a_short_passphrase_is_refused(tmp_path: Path) -> None:
    with pytest.raises(DelegationKeyError, match="at least 12 characters"):
        save_key(DelegationKey.generate(), tmp_path / "k", "secret", log2_n=MIN_LOG2_N)
    assert not (tmp_path / "k").exists()


def test_a_fingerprint_is_thirty_digits_in_groups_of_five_and_differs_per_key() -> None:
    a, b = DelegationKey.generate(), DelegationKey.generate()
    shown = str(a.fingerprint)
    assert len(shown.split()) == 6 and all(len(g) == 5 and g.isdigit() for g in shown.split())
    assert len(a.fingerprint.digits) == FINGERPRINT_DIGITS
    assert a.fingerprint != b.fingerprint
    assert Fingerprint.of(a.public_key) == a.fingerprint


def test_a_fingerprint_is_parsed_back_as_typed_with_spaces_or_hyphens() -> None:
    fingerprint = DelegationKey.generate().fingerprint
    assert Fingerprint.parse(str(fingerprint)) == fingerprint
    assert Fingerprint.parse(str(fingerprint).replace(" ", "-")) == fingerprint
    assert Fingerprint.parse(fingerprint.digits) == fingerprint


@pytest.mark.parametrize(
    "text",
    [
        "",
        "12345",
        "1" * 29,
        "1" * 31,
        "12345 67890 12345 67890 12345 6789x",
        "\u0661" * 30,
    ],  # Arabic-Indic digits
)
def test_anything_else_is_not_a_fingerprint(text: str) -> None:
    with pytest.raises(ValueError, match="a fingerprint is 30 digits"):
        Fingerprint.parse(text)


@given(st.binary(min_size=32, max_size=32))
def test_every_fingerprint_reads_back_to_itself(public_key: bytes) -> None:
    fingerprint = Fingerprint.of(public_key)
    assert Fingerprint.parse(str(fingerprint)) == fingerprint
