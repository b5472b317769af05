"""A readout exported from a real course (two delegations' real keys and certificates, real DAVE
device keys): `verify_readout` and `parley verify` say where each statement stands, and refuse
the file when any one byte of it changes, an entry is removed or reordered, it is for another
summit, or the pins do not match."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from identities import Delegation
from record_course import CEASEFIRE, PORT, PRISONERS, REASON, Course

from parley.cli import main
from parley.record.readout import canonical_json, export_readout, render_html, verify_readout

COURSE = Course().talks().seal()
assert COURSE.rules is not None
READOUT = export_readout(COURSE.rules, COURSE.statements, "Delegation A")


def _standing(text: str) -> str:
    verdict = verify_readout(READOUT, COURSE.pins)
    found = verdict.claim(text)
    assert found is not None
    return found.standing


def test_the_readout_verifies_and_says_where_each_statement_stands() -> None:
    verdict = verify_readout(READOUT, COURSE.pins)
    assert verdict.ok, verdict.reason
    assert [s.standing for s in verdict.statements] == [
        "position of Delegation A",
        "position of Delegation B",
        "agreed by Delegation A and Delegation B",
        "agreed by Delegation A and Delegation B",
        f"position of Delegation A, not agreed (declined by Delegation B: {REASON})",
        "Delegation B's reason for declining entry 6",
        "action for José Núñez by Friday, by Delegation A",
    ]
    assert verdict.sealed_by == ["Delegation A", "Delegation B"]
    assert verdict.claim(CEASEFIRE) is not None and verdict.claim(PRISONERS) is not None
    assert verdict.claim("Something never said.") is None


def test_the_readout_is_canonical_json() -> None:
    assert canonical_json(json.loads(READOUT)) == READOUT


def test_every_byte_of_the_readout_matters() -> None:
    pins = COURSE.pins
    for at in range(len(READOUT)):
        changed = bytearray(READOUT)
        changed[at] ^= 0x01
        verdict = verify_readout(bytes(changed), pins)
        assert not verdict.ok, f"byte {at} changed, still verifies"


def _edited(edit: object) -> bytes:
    document = json.loads(READOUT)
    edit(document)  # type: ignore[operator]
    return canonical_json(document)


def test_a_removed_or_reordered_entry_or_a_missing_seal_fails() -> None:
    def remove(d: dict[str, list[object]]) -> None:
        del d["entries"][4]

    def swap(d: dict[str, list[object]]) -> None:
        d["entries"][2], d["entries"][3] = d["entries"][3], d["entries"][2]

    def drop_seal(d: dict[str, list[object]]) -> None:
        d["entries"].pop()

    for edit, reason in (
        (remove, "is not the entry that follows"),
        (swap, "is not the entry that follows"),
        (drop_seal, "not sealed by Delegation B"),
    ):
        verdict = verify_readout(_edited(edit), COURSE.pins)
        assert not verdict.ok and reason in verdict.reason


def test_a_readout_of_another_summit_fails() -> None:
    def rename(d: dict[str, str]) -> None:
        d["summit_id"] = "another-summit"

    assert not verify_readout(_edited(rename), COURSE.pins).ok


def test_other_pins_or_a_missing_pin_fail() -> None:
    impostor = Delegation("Delegation B", "b2b2b2b2b2b2b2b2")
    wrong = COURSE.pins | {"Delegation B": impostor.key.fingerprint}
    assert "not pinned" in verify_readout(READOUT, wrong).reason
    missing = {"Delegation A": COURSE.a.key.fingerprint}
    assert "no pin for Delegation B" in verify_readout(READOUT, missing).reason
    third = COURSE.pins | {"Delegation C": Delegation("Delegation C", "c3c3").key.fingerprint}
    assert "not sealed by Delegation C" in verify_readout(READOUT, third).reason


def test_the_printable_page_escapes_and_shows_each_standing() -> None:
    page = render_html(READOUT)
    assert (
        "<script" not in page and "José Núñez" in page and "agreed by Delegation A and Delegation B" in page
    )
    assert str(COURSE.a.key.fingerprint) in page and "Sealed by Delegation A and Delegation B" in page


def _verify(tmp_path: Path, capsys: pytest.CaptureFixture[str], data: bytes, *extra: str) -> tuple[int, str]:
    path = tmp_path / "readout.json"
    path.write_bytes(data)
    pins = [f"--pin={name}={fingerprint}" for name, fingerprint in COURSE.pins.items()]
    status = main(["verify", str(path), *pins, *extra])
    return status, capsys.readouterr().out


def test_parley_verify_exit_statuses(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, out = _verify(tmp_path, capsys, READOUT)
    assert status == 0 and "VERIFIED" in out and "agreed by Delegation A and Delegation B" in out
    status, out = _verify(tmp_path, capsys, READOUT, "--claim", CEASEFIRE)
    assert status == 0 and "Claim: agreed by Delegation A and Delegation B" in out
    status, out = _verify(tmp_path, capsys, READOUT, "--claim", PORT)
    assert status == 1 and "Claim: position of Delegation A, not agreed" in out
    status, out = _verify(tmp_path, capsys, READOUT, "--claim", "Never said.")
    assert status == 1 and "Claim: not in the record" in out
    status, out = _verify(tmp_path, capsys, READOUT.replace(b"ceasefire", b"ceasefirE"))
    assert status == 2 and "NOT VERIFIED" in out
