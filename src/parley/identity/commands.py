"""`parley delegation ...`: what a delegation's security officer runs on their own machine.

- `keygen --out FILE`: make the delegation key, sealed with a passphrase asked twice (or read from
  `--passphrase-file`, for scripts and tests); prints its fingerprint, to read to the other
  delegations' officers.
- `fingerprint FILE`: a key file's fingerprint (no passphrase needed).
- `approve --key FILE REQUEST`: show a device's enrollment request (its code and claim), ask, and
  print the certificate as text (`parley-certificate:...`) for the device. REQUEST is the
  request's text, a file holding it, or `-` for standard input.
- `pins --key FILE --summit ID --pin NAME=FINGERPRINT ...`: the pin set this delegation's
  devices trust, signed (the officer's own delegation among the pins).
- `revoke --key FILE --summit ID --sequence N [SERIAL ...]`: a revocation list, every serial
  still revoked (each list replaces the one before; N must grow).

None of them talks to the server: what they print travels through it (or by hand), signed.
"""

from __future__ import annotations

import argparse
import getpass
import sys
import time
from pathlib import Path

from parley.identity.delegation_key import (
    DelegationKey,
    DelegationKeyError,
    load_key,
    read_public_key,
    save_key,
)
from parley.identity.enrollment import EnrollmentRequest, approve
from parley.identity.fingerprint import Fingerprint
from parley.identity.pins import sign_pins
from parley.identity.problems import IdentityError
from parley.identity.revocation import SERIAL_SIZE, sign_revocations

DEFAULT_VALID_HOURS = 72


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """`parley delegation` and its subcommands, under the main parser's `commands`."""
    delegation = commands.add_parser("delegation", help="a delegation officer's key, certificates and pins")
    actions = delegation.add_subparsers(dest="action", required=True)
    keygen = actions.add_parser("keygen", help="make the delegation key, sealed with a passphrase")
    keygen.add_argument("--out", type=Path, required=True, help="the key file to create (never overwritten)")
    _passphrase_option(keygen)
    actions.add_parser("fingerprint", help="a key file's fingerprint, to read aloud").add_argument(
        "file", type=Path
    )
    approving = actions.add_parser("approve", help="certify a device from its enrollment request")
    approving.add_argument("request", help="the request's text, a file holding it, or - for standard input")
    key_options(approving)
    approving.add_argument("--delegation", help="refuse a request for any other delegation than this one")
    approving.add_argument("--valid-hours", type=int, default=DEFAULT_VALID_HOURS)
    approving.add_argument("--yes", action="store_true", help="do not ask; approve if the request is sound")
    pinning = actions.add_parser("pins", help="sign the pins this delegation's devices trust")
    key_options(pinning)
    pinning.add_argument("--summit", required=True, help="the summit id (in its links: /join/<summit id>)")
    pinning.add_argument("--pin", action="append", required=True, metavar="NAME=FINGERPRINT")
    pinning.add_argument("--sequence", type=int, default=1, help="higher than any pin set signed before")
    revoking = actions.add_parser("revoke", help="sign a revocation list")
    key_options(revoking)
    revoking.add_argument("--summit", required=True)
    revoking.add_argument("--sequence", type=int, required=True, help="higher than the last list's")
    revoking.add_argument("serials", nargs="*", help="every serial still revoked (hex), as certificates show")


def _passphrase_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--passphrase-file", type=Path, help="the passphrase is this file's first line (scripts, tests)"
    )


def key_options(parser: argparse.ArgumentParser) -> None:
    """`--key FILE` and `--passphrase-file`: the options of a command that opens the delegation key."""
    parser.add_argument("--key", type=Path, required=True, help="the delegation key file")
    _passphrase_option(parser)


def run(args: argparse.Namespace) -> int:
    """Run one `parley delegation` command; what goes wrong is told in a sentence, exit status 1."""
    try:
        if args.action == "keygen":
            return _keygen(args.out, args.passphrase_file)
        if args.action == "fingerprint":
            print(Fingerprint.of(read_public_key(args.file)))
            return 0
        if args.action == "approve":
            return _approve(args)
        if args.action == "pins":
            return _pins(args)
        return _revoke(args)
    except (DelegationKeyError, IdentityError, ValueError) as e:
        print(f"parley delegation {args.action}: {e}", file=sys.stderr)
        return 1
    except OSError as e:
        print(f"parley delegation {args.action}: {e.filename}: {e.strerror}", file=sys.stderr)
        return 1


def _passphrase(passphrase_file: Path | None, confirm: bool = False) -> str:
    if passphrase_file is not None:
        lines = passphrase_file.read_text().splitlines()
        return lines[0] if lines else ""
    passphrase = getpass.getpass("Passphrase for the delegation key: ")
    if confirm and getpass.getpass("The same passphrase again: ") != passphrase:
        raise DelegationKeyError("the two passphrases differ; nothing was written")
    return passphrase


def open_key(args: argparse.Namespace) -> DelegationKey:
    """The key file `--key` names, opened with its passphrase (asked, or `--passphrase-file`)."""
    return load_key(args.key, _passphrase(args.passphrase_file))


def _keygen(out: Path, passphrase_file: Path | None) -> int:
    key = DelegationKey.generate()
    save_key(key, out, _passphrase(passphrase_file, confirm=True))
    print(f"Delegation key written to {out} (sealed with the passphrase; keep both apart).")
    print(f"Fingerprint, to read to the other delegations' officers:\n  {key.fingerprint}")
    return 0


def _request_text(request: str) -> str:
    if request == "-":
        return sys.stdin.read()
    if request.strip().startswith("parley-enrollment:"):
        return request
    return Path(request).read_text()


def _approve(args: argparse.Namespace) -> int:
    request = EnrollmentRequest.from_text(_request_text(args.request))
    print(f"Request code: {request.code}\n  {request.claim.describe()}", file=sys.stderr)
    key = open_key(args)
    delegation = args.delegation or request.claim.delegation
    if not args.yes:
        # Asked on standard error, so that standard output holds the certificate alone (> cert.txt).
        print(
            "Does the device show this code, and is this its claim? Approve [y/N]: ", end="", file=sys.stderr
        )
        sys.stderr.flush()
        answer = sys.stdin.readline()  # "" at the end of input (the request came on it): not approved
        if answer.strip().lower() not in ("y", "yes"):
            print("Not approved.", file=sys.stderr)
            return 1
    certificate = approve(key, request, delegation, int(time.time()), args.valid_hours * 3600)
    print(f"Certified, serial {certificate.serial.hex()}:", file=sys.stderr)
    print(certificate.to_text())
    return 0


def parse_pin(pin: str) -> tuple[str, Fingerprint]:
    """NAME=FINGERPRINT, as the officer types a pin."""
    name, sep, digits = pin.rpartition("=")
    if not sep or not name:
        raise ValueError(f"a pin is NAME=FINGERPRINT, not {pin!r}")
    return name, Fingerprint.parse(digits)


def _pins(args: argparse.Namespace) -> int:
    pinned = dict(parse_pin(pin) for pin in args.pin)
    key = open_key(args)
    print(sign_pins(key, args.summit, args.sequence, pinned).to_text())
    return 0


def _revoke(args: argparse.Namespace) -> int:
    serials = [bytes.fromhex(s) for s in args.serials]
    if any(len(s) != SERIAL_SIZE for s in serials):
        raise ValueError(f"a serial is {SERIAL_SIZE * 2} hex digits, as the certificate shows it")
    key = open_key(args)
    print(sign_revocations(key, args.summit, args.sequence, serials, int(time.time())).to_text())
    return 0
