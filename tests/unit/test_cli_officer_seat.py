"""`parley join --officer KEYFILE --pin ...`: the delegation key opened with its passphrase, the
pins parsed, and every mistake said in a sentence (no server: only the arguments are read)."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from parley.cli import _officer_seat
from parley.identity.delegation_key import DelegationKey, save_key

PASSPHRASE = "correct horse battery staple"


def seat_args(
    tmp_path: Path, *pins: str, officer: bool = True, passphrase: str = PASSPHRASE
) -> argparse.Namespace:
    key = DelegationKey.generate()
    tmp_path.mkdir(exist_ok=True)
    key_file, passphrase_file = tmp_path / "delegation.key", tmp_path / "passphrase"
    save_key(key, key_file, PASSPHRASE, log2_n=14)
    passphrase_file.write_text(passphrase + "\n")
    return argparse.Namespace(
        officer=key_file if officer else None, passphrase_file=passphrase_file, pin=list(pins), key=key
    )


def test_the_console_opens_its_key_and_publishes_the_pins_it_was_given(tmp_path: Path) -> None:
    args = seat_args(tmp_path)
    own = args.key.fingerprint
    args.pin = [f"Delegation A={own}", f"Delegation B={'1' * 30}"]
    key, pins = _officer_seat(args)
    assert key is not None and key.fingerprint == own
    assert pins is not None and pins["Delegation A"] == own and pins["Delegation B"].digits == "1" * 30


def test_mistakes_are_said_in_a_sentence(tmp_path: Path) -> None:
    with pytest.raises(SystemExit, match="--pin goes with --officer"):
        _officer_seat(seat_args(tmp_path / "1", "A=" + "1" * 30, officer=False))
    with pytest.raises(SystemExit, match="a pin is NAME=FINGERPRINT"):
        _officer_seat(seat_args(tmp_path / "2", "no equals sign"))
    with pytest.raises(SystemExit, match="parley join --officer"):
        _officer_seat(seat_args(tmp_path / "3", passphrase="not the passphrase at all"))
