"""`parley delegation ...` as an officer runs it: keygen, fingerprint, approve, pins, revoke, through
`parley.cli.main`, with real keys in a temporary folder. Standard input is a string where a test
answers a prompt, and the terminal's passphrase prompt is faked in the one test that says so."""

from __future__ import annotations

import io
import stat
from pathlib import Path

import pytest
from identities import SUMMIT, Delegation, Device

from parley.cli import main
from parley.identity.certificate import DeviceCertificate, verify_certificate
from parley.identity.delegation_key import DelegationKey, read_public_key
from parley.identity.enrollment import accept_certificate, make_request
from parley.identity.fingerprint import Fingerprint
from parley.identity.pins import PinSet, verify_pins
from parley.identity.revocation import RevocationBook, RevocationList
from parley.protocol.vocabulary import Role

PASSPHRASE = "four words read aloud"


@pytest.fixture(scope="module")
def officer(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A delegation key made by `parley delegation keygen`, and its passphrase file."""
    folder = tmp_path_factory.mktemp("officer")
    passphrase = folder / "passphrase"
    passphrase.write_text(PASSPHRASE + "\n")
    assert (
        main(["delegation", "keygen", "--out", str(folder / "a.key"), "--passphrase-file", str(passphrase)])
        == 0
    )
    return folder / "a.key", passphrase


def fingerprint_of(key: Path) -> Fingerprint:
    return Fingerprint.of(read_public_key(key))


def request_text() -> tuple[str, Device]:
    """A device's enrollment request, as it shows it (the device too, to check the answer)."""
    device = Delegation("Delegation A", "a1a1a1a1a1a1a1a1").device(501, Role.DELEGATE, ("Ines Officer",))
    return make_request(device.claim, device.sign).to_text(), device


def test_keygen_writes_an_owner_only_key_and_prints_its_fingerprint(
    officer: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    key, _ = officer
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert main(["delegation", "fingerprint", str(key)]) == 0
    assert capsys.readouterr().out.strip() == str(fingerprint_of(key))


def test_keygen_never_overwrites_a_key(
    officer: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    key, passphrase = officer
    before = key.read_bytes()
    assert main(["delegation", "keygen", "--out", str(key), "--passphrase-file", str(passphrase)]) == 1
    assert "never overwritten" in capsys.readouterr().err
    assert key.read_bytes() == before


def test_keygen_asks_twice_and_writes_nothing_when_the_typed_passphrases_differ(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    typed = iter([PASSPHRASE, PASSPHRASE + " typo"])
    monkeypatch.setattr("getpass.getpass", lambda prompt: next(typed))
    assert main(["delegation", "keygen", "--out", str(tmp_path / "k.key")]) == 1
    assert "the two passphrases differ" in capsys.readouterr().err
    assert not (tmp_path / "k.key").exists()


def test_approve_prints_a_certificate_the_device_accepts(
    officer: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    key, passphrase = officer
    text, device = request_text()
    code = main(
        ["delegation", "approve", "--key", str(key), "--passphrase-file", str(passphrase), "--yes", text]
    )
    out, err = capsys.readouterr()
    assert code == 0
    certificate = DeviceCertificate.from_text(out)
    assert certificate.issuer_fingerprint == fingerprint_of(key)
    assert "Request code: " in err and "Ines Officer: Delegation A delegate, user 501" in err
    assert f"serial {certificate.serial.hex()}" in err
    verify_certificate(certificate, SUMMIT, certificate.not_before + 1, RevocationBook(SUMMIT))
    assert certificate.not_after - certificate.not_before == 72 * 3600
    accept_certificate(device.claim, certificate, fingerprint_of(key), certificate.not_before + 5)


def test_approve_reads_the_request_from_a_file_or_standard_input(
    officer: tuple[Path, Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    key, passphrase = officer
    text, _ = request_text()
    (tmp_path / "request.txt").write_text(text + "\n")
    common = ["delegation", "approve", "--key", str(key), "--passphrase-file", str(passphrase), "--yes"]
    assert main([*common, str(tmp_path / "request.txt")]) == 0
    assert DeviceCertificate.from_text(capsys.readouterr().out).claim.user_id == 501
    monkeypatch.setattr("sys.stdin", io.StringIO(text))
    assert main([*common, "-"]) == 0
    assert DeviceCertificate.from_text(capsys.readouterr().out).claim.user_id == 501


@pytest.mark.parametrize(
    ("answer", "approved"), [("y\n", True), ("yes\n", True), ("n\n", False), ("", False)]
)
def test_approve_asks_the_officer_on_standard_error_and_signs_only_on_yes(
    officer: tuple[Path, Path],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    answer: str,
    approved: bool,
) -> None:
    key, passphrase = officer
    text, _ = request_text()
    monkeypatch.setattr("sys.stdin", io.StringIO(answer))  # "": nothing to answer with (end of input)
    code = main(["delegation", "approve", "--key", str(key), "--passphrase-file", str(passphrase), text])
    out, err = capsys.readouterr()
    assert "Approve [y/N]" in err
    if approved:
        assert code == 0 and DeviceCertificate.from_text(out).claim.user_id == 501
    else:
        assert code == 1 and out == "" and "Not approved." in err


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--delegation", "Delegation B"], "this key signs for 'Delegation B'"),
        (["--valid-hours", "10000"], "at most 30 days"),
    ],
)
def test_approve_refuses_another_delegations_request_or_a_validity_too_long(
    officer: tuple[Path, Path], capsys: pytest.CaptureFixture[str], extra: list[str], message: str
) -> None:
    key, passphrase = officer
    text, _ = request_text()
    args = [
        "delegation",
        "approve",
        "--key",
        str(key),
        "--passphrase-file",
        str(passphrase),
        "--yes",
        *extra,
        text,
    ]
    assert main(args) == 1
    out, err = capsys.readouterr()
    assert out == "" and message in err


def test_approve_with_a_wrong_passphrase_or_an_altered_request_says_so(
    officer: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    key, _ = officer
    wrong = tmp_path / "wrong"
    wrong.write_text("not the passphrase at all\n")
    text, _ = request_text()
    assert (
        main(["delegation", "approve", "--key", str(key), "--passphrase-file", str(wrong), "--yes", text])
        == 1
    )
    assert "wrong passphrase" in capsys.readouterr().err
    cut = text[:-10]
    assert (
        main(["delegation", "approve", "--key", str(key), "--passphrase-file", str(wrong), "--yes", cut]) == 1
    )
    assert "does not parse" in capsys.readouterr().err
    assert main(["delegation", "approve", "--key", str(key), "--yes", str(tmp_path / "missing.txt")]) == 1
    assert "missing.txt: No such file or directory" in capsys.readouterr().err


def test_pins_signs_the_set_its_devices_trust(
    officer: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    key, passphrase = officer
    other = DelegationKey.generate().fingerprint
    own = fingerprint_of(key)
    pins = ["--pin", f"Delegation A={own}", "--pin", f"Delegation B={str(other).replace(' ', '-')}"]
    assert (
        main(
            [
                "delegation",
                "pins",
                "--key",
                str(key),
                "--passphrase-file",
                str(passphrase),
                "--summit",
                SUMMIT,
                *pins,
            ]
        )
        == 0
    )
    trusted = verify_pins(PinSet.from_text(capsys.readouterr().out), own, SUMMIT)
    assert trusted.by_name == {"Delegation A": own, "Delegation B": other}
    assert main(["delegation", "pins", "--key", str(key), "--summit", SUMMIT, "--pin", "no equals sign"]) == 1
    assert "a pin is NAME=FINGERPRINT" in capsys.readouterr().err


def test_revoke_signs_a_list_that_revokes_the_certificate(
    officer: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    key, passphrase = officer
    text, _ = request_text()
    common = ["--key", str(key), "--passphrase-file", str(passphrase)]
    assert main(["delegation", "approve", *common, "--yes", text]) == 0
    certificate = DeviceCertificate.from_text(capsys.readouterr().out)
    args = ["delegation", "revoke", *common, "--summit", SUMMIT, "--sequence", "1", certificate.serial.hex()]
    assert main(args) == 0
    book = RevocationBook(SUMMIT)
    book.accept(RevocationList.from_text(capsys.readouterr().out))
    assert book.is_revoked(certificate.issuer, certificate.serial)
    assert main(["delegation", "revoke", *common, "--summit", SUMMIT, "--sequence", "2", "abcd"]) == 1
    assert "a serial is 32 hex digits" in capsys.readouterr().err
