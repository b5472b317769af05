"""Fakes for unit tests only (integration tests use the real parts)."""

from __future__ import annotations

import json
from typing import Any

from parley.protocol.server_ops import OkOp


class RecordingSocket:
    """A device's socket as the room sees it: keeps what was sent, closes nothing."""

    def __init__(self) -> None:
        self.sent: list[str | bytes] = []

    async def send_text(self, data: str) -> None:
        self.sent.append(data)

    async def send_bytes(self, data: bytes) -> None:
        self.sent.append(data)

    async def close(self, code: int, reason: str) -> None:
        pass

    def ops(self, name: str) -> list[dict[str, Any]]:
        """The data of every Parley op of this name sent, in order."""
        messages = [json.loads(t) for t in self.sent if isinstance(t, str) and t.startswith("{")]
        return [m["d"] for m in messages if m.get("op") == name]


def fake_ready(admitted: bool) -> OkOp:
    """Stands in for the `ready` op signalling builds: the room only sends it first, unread."""
    return OkOp()
