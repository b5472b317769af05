"""`parley verify READOUT --pin "NAME=FINGERPRINT" ... [--claim TEXT] [--html FILE]`: check a
readout offline, with the fingerprints the delegations' officers read to each other.

Prints each statement with its standing, the seal and the pins; with `--claim`, the standing of
that exact text or "not in the record". Exit status: 0 verified (and the claim, if any, agreed),
1 the claim is not agreed or not in the record, 2 the readout does not verify. `--html FILE`
also writes the printable page of a readout that verifies.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from parley.identity.commands import parse_pin
from parley.record.readout import ReadoutVerdict, render_html, verify_readout

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


def run(args: argparse.Namespace) -> int:
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
