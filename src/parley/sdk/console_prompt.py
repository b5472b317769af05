"""The officer's console on a terminal (`parley join --officer KEYFILE`).

Each enrollment request the server relays is numbered and shown with its code and claim; the
officer compares the code with the one on the device's screen and types `approve N` (nothing is
approved without it), `decline N` for a device it does not know (its stay ends), `revoke
SERIAL...` for a device lost or gone, or `signers SERIAL...` to name who besides the principal
may sign the record for the delegation (the whole list each time). Lines come from standard
input through a daemon thread, so that a console waiting for a line never holds the program open.
"""

from __future__ import annotations

import asyncio
import sys
import threading
from collections.abc import Callable
from typing import TextIO

from parley.sdk.client import ParleyClient
from parley.sdk.officer import Waiting
from parley.sdk.requests import RequestRefused, RequestTimeout

HELP = (
    "Type 'approve N' once the device shows request N's code, 'decline N', 'revoke SERIAL...',"
    " or 'signers SERIAL...'."
)


class ConsolePrompt:
    def __init__(self, say: Callable[[str], None] = print) -> None:
        self.say = say
        self.shown: list[Waiting] = []
        self.client: ParleyClient | None = None  # set once the client exists (it takes `show`)

    def show(self, waiting: Waiting) -> None:
        """A request arrived: number it and show what the officer must compare and read."""
        self.shown.append(waiting)
        claim = waiting.request.claim
        self.say(
            f"\nEnrollment request {len(self.shown)}: code {waiting.request.code}\n"
            f"  {claim.describe()}\n  {HELP}"
        )

    async def command(self, line: str) -> None:
        """One typed line: `approve N`, `decline N`, `revoke SERIAL...` or `signers SERIAL...`;
        anything else shows the help."""
        assert self.client is not None
        word, *rest = line.split() or [""]
        try:
            chosen = self._numbered(rest)
            if word == "approve" and chosen is not None:
                certificate = await self.client.approve(chosen)
                self.say(f"Certified {certificate.claim.describe()}; serial {certificate.serial.hex()}")
            elif word == "decline" and chosen is not None:
                await self.client.decline(chosen)
                self.say(f"Declined {chosen.request.claim.describe()}: its stay ends.")
            elif word == "revoke" and rest:
                await self.client.revoke_certificates([bytes.fromhex(serial) for serial in rest])
                self.say(f"Revoked {', '.join(rest)}.")
            elif word == "signers":
                await self.client.name_signers([bytes.fromhex(serial) for serial in rest])
                self.say(f"Signers of the record besides the principal: {', '.join(rest) or 'none'}.")
            elif word:
                self.say(HELP)
        except (RequestRefused, RequestTimeout, ValueError) as e:
            self.say(f"Not done: {e}")

    def _numbered(self, rest: list[str]) -> Waiting | None:
        if len(rest) == 1 and rest[0].isdigit() and 1 <= int(rest[0]) <= len(self.shown):
            return self.shown[int(rest[0]) - 1]
        return None


def read_lines(stream: TextIO = sys.stdin) -> asyncio.Queue[str]:
    """Lines of `stream` as they are typed, on this event loop."""
    loop = asyncio.get_running_loop()
    lines: asyncio.Queue[str] = asyncio.Queue()

    def pump() -> None:
        for line in stream:
            loop.call_soon_threadsafe(lines.put_nowait, line)

    threading.Thread(target=pump, name="parley-console-input", daemon=True).start()
    return lines
