"""The `parley` command.

`parley demo` runs a small summit's key agreement in one process: the DAVE gateway (what the
server runs) and three members of two delegations (what each device runs), wired by an in-memory
link. It prints what each person would see: the group code, a pairwise code, a frame crossing
the server as ciphertext, and a member leaving with the keys rotating behind it.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import sys
from collections.abc import Sequence

from parley.e2ee.gateway import DaveGateway
from parley.sdk.local_group import LocalGroup
from parley.sdk.member import DaveMember, Media

_DEMO_PEOPLE = (
    (1001, "Delegation A", "principal"),
    (2001, "Delegation B", "principal"),
    (2002, "Delegation B", "delegate"),
)


def _demo() -> int:
    gateway = DaveGateway(channel_id=7)
    link = LocalGroup(gateway)
    members = {uid: DaveMember(uid, gateway.channel_id) for uid, _, _ in _DEMO_PEOPLE}
    print("Parley demo: one summit, two delegations, end-to-end encrypted (DAVE over MLS).\n")
    for uid, delegation, role in _DEMO_PEOPLE:
        link.join(members[uid])
        link.run()
        print(f"  {delegation} {role} (user {uid}) joined; group epoch {gateway.epoch}")
    print("\nGroup code on every screen (read it aloud; it must be the same):")
    for uid, delegation, role in _DEMO_PEOPLE:
        print(f"  {delegation:>12} {role:<9}  {members[uid].group_code()}")

    async def pairwise() -> tuple[str, str]:
        return await members[1001].pairwise_code(2001), await members[2001].pairwise_code(1001)

    a_sees, b_sees = asyncio.run(pairwise())
    print(f"\nPairwise code, principal A <-> principal B:\n  A sees {a_sees}\n  B sees {b_sees}")

    frame = b"\xfc" + b"opus frame from principal A".ljust(59, b".")
    sealed = members[1001].encrypt(Media.AUDIO, frame)
    assert sealed is not None
    opened = members[2001].decrypt(1001, Media.AUDIO, sealed)
    print(
        f"\nAn audio frame: {len(frame)} bytes plaintext, {len(sealed)} bytes as the server forwards it"
        f" (sha256 {hashlib.sha256(sealed).hexdigest()[:16]}...); B decrypts it: {opened == frame}"
    )

    departed = members[2002]
    link.leave(2002)
    link.run()
    after = members[1001].encrypt(Media.AUDIO, frame)
    assert after is not None
    stayed = members[2001].decrypt(1001, Media.AUDIO, after) == frame
    left = departed.decrypt(1001, Media.AUDIO, after) is not None
    print(
        f"\nThe delegate of B leaves: epoch {gateway.epoch}, new group code {members[1001].group_code()}."
        f"\n  B's principal decrypts A's next frame: {stayed}"
        f"\n  the departed delegate, keeping its old keys, decrypts it: {left}"
    )
    print("\nThe server held only its own signing key throughout; it never had a key to any frame.")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="parley", description=__doc__.splitlines()[0] if __doc__ else None)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("demo", help="run the end-to-end encryption demo in one process")
    args = parser.parse_args(argv)
    if args.command == "demo":
        return _demo()
    parser.error(f"unknown command {args.command}")
    return 2


if __name__ == "__main__":
    sys.exit(main())
