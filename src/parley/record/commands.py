"""`parley verify READOUT --pin "NAME=FINGERPRINT" ... [--claim TEXT] [--html FILE]`: check a
readout offline, with the fingerprints the delegations' officers read to each other.

`parley record fetch --server URL --summit ID --admin-token-file FILE --out SEALED.json`: the
organiser takes the sealed record (ciphertext) from the server and hands it to each delegation.
`parley record open SEALED.json --key KEYFILE --out READOUT.json [--html FILE] [--pin ...]`: a
delegation's officer opens it offline with the delegation key and writes the readout.

Prints each statement with its standing, the seal and the pins; with `--claim`, the standing of
that exact text or "not in the record". Exit status: 0 verified (and the claim, if any, agreed),
1 the claim is not agreed or not in the record, 2 the readout does not verify. `--html FILE`
also writes the printable page of a readout that verifies.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import httpx

from parley.identity.commands import key_options, open_key, parse_pin
from parley.identity.delegation_key import DelegationKeyError
from parley.record.readout import ReadoutVerdict, render_html, verify_readout
from parley.record.sealed import SealedRecord, open_sealed

VERIFIED, NOT_AGREED, REFUSED = 0, 1, 2


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    verify = commands.add_parser("verify", help="check a record readout offline against pinned fingerprints")
    verify.add_argument("readout", type=Path, help="the readout's JSON file")
    verify.add_argument(
        "--pin",
        action="append",
        required=True,
        metavar="NAME=FINGERPRINT",
        help="every delegation of the summit",
    )
    verify.add_argument("--claim", help="a text: is it agreed in this record?")
    verify.add_argument("--html", type=Path, help="also write the printable page here")

    record = commands.add_parser("record", help="take the sealed record from the server; open it offline")
    actions = record.add_subparsers(dest="action", required=True)
    fetch = actions.add_parser("fetch", help="the sealed record (ciphertext only), with the admin token")
    fetch.add_argument("--server", required=True, help="the server's URL, as invite links start")
    fetch.add_argument("--summit", required=True, help="the summit's id")
    token = fetch.add_mutually_exclusive_group(required=True)
    token.add_argument("--admin-token-file", type=Path, help="the server's admin.token")
    token.add_argument("--admin-token", help="the token (it shows in the process list: prefer the file)")
    fetch.add_argument("--out", type=Path, required=True)
    opening = actions.add_parser("open", help="open the sealed record with the delegation key")
    opening.add_argument("sealed", type=Path, help="the sealed record's JSON file")
    key_options(opening)
    opening.add_argument("--out", type=Path, required=True, help="the readout's JSON file")
    opening.add_argument("--html", type=Path, help="also write the printable page here")
    opening.add_argument(
        "--pin",
        action="append",
        default=[],
        metavar="NAME=FINGERPRINT",
        help="every delegation of the summit (default: the pin set this delegation's key signed)",
    )


def run(args: argparse.Namespace) -> int:
    if args.command == "record":
        return _record(args)
    try:
        pins = dict(parse_pin(pin) for pin in args.pin)
        data = args.readout.read_bytes()
    except ValueError as e:
        print(f"parley verify: {e}", file=sys.stderr)
        return REFUSED
    except OSError as e:
        print(f"parley verify: {e.filename}: {e.strerror}", file=sys.stderr)
        return REFUSED
    verdict = verify_readout(data, pins)
    if not verdict.ok:
        print(f"NOT VERIFIED: {verdict.reason}")
        return REFUSED
    _print(verdict)
    if args.html is not None:
        args.html.write_text(render_html(data))
    if args.claim is None:
        return VERIFIED
    found = verdict.claim(args.claim)
    print(f"\nClaim: {found.standing if found else 'not in the record'}")
    return VERIFIED if found is not None and found.agreed else NOT_AGREED


def _print(verdict: ReadoutVerdict) -> None:
    print(f"VERIFIED: the record of summit {verdict.summit_id}, exported by {verdict.exported_by}")
    for s in verdict.statements:
        print(f"\n[{s.seq}] {s.kind} by {s.by}: {s.text}")
        print(f"    {s.standing}")
    print(f"\nSealed by {', '.join(verdict.sealed_by)} (head {verdict.sealed_head}).")
    print("Pinned keys:")
    for name, fingerprint in verdict.fingerprints.items():
        print(f"  {name}: {fingerprint}")


def _record(args: argparse.Namespace) -> int:
    """`parley record fetch|open`; what goes wrong is told in a sentence, exit status 1."""
    try:
        return _fetch(args) if args.action == "fetch" else _open(args)
    except (DelegationKeyError, ValueError, httpx.HTTPError) as e:  # IdentityError is a ValueError
        print(f"parley record {args.action}: {e}", file=sys.stderr)
        return 1
    except OSError as e:
        print(f"parley record {args.action}: {e.filename}: {e.strerror}", file=sys.stderr)
        return 1


def _fetch(args: argparse.Namespace) -> int:
    token = args.admin_token or args.admin_token_file.read_text().strip()
    answer = httpx.get(
        f"{args.server.rstrip('/')}/api/summits/{args.summit}/record",
        headers={"Authorization": f"Bearer {token}"},
        timeout=60,
    )
    if answer.status_code != 200:
        raise ValueError(f"the server answered {answer.status_code}: {answer.text}")
    sealed = SealedRecord.from_json(answer.content)  # what we write is a sealed record, nothing else
    args.out.write_bytes(answer.content)
    print(f"The sealed record of summit {sealed.summit_id}: {len(sealed.entries)} entries, {sealed.state};")
    print(f"written to {args.out}. Each delegation opens it with its key: parley record open.")
    return 0


def _open(args: argparse.Namespace) -> int:
    sealed = SealedRecord.from_json(args.sealed.read_bytes())
    pins = dict(parse_pin(pin) for pin in args.pin)
    opened = open_sealed(sealed, open_key(args), pins or None)
    args.out.write_bytes(opened.readout)
    if args.html is not None:
        args.html.write_text(render_html(opened.readout))
    print(f"Opened with {opened.delegation}'s key: {opened.entries} entries, every one checked;")
    print(f"the readout is in {args.out}.")
    if not opened.sealed:
        print("The record is not sealed by every delegation: parley verify will refuse the readout.")
        return 1
    return 0
