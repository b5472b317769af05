"""Requests are answered: a device's op that carries an id gets exactly one answer with that id
(its own answer, `ok`, or `error`), on the real server, whatever events arrive in between."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
import websockets
from calls import summit_links
from support import identify_data

from parley.protocol.server_ops import ErrorOp, OkOp, ReadyOp, parse_server_frame
from parley.sdk.client import InviteLink
from parley.server.runtime import ParleyServer
from parley.summit.model import Role

pytestmark = pytest.mark.anyio


class RawDevice:
    """A device speaking the wire protocol by hand, reading every frame through the schema."""

    def __init__(self, ws: websockets.ClientConnection) -> None:
        self.ws = ws
        self.events: list[str] = []  # the ops received that answered no request

    async def send(self, op: str, request: int, d: dict[str, Any] | None = None) -> None:
        await self.ws.send(json.dumps({"op": op, "id": request, "d": d or {}}))

    async def answers(self, *requests: int) -> dict[int, Any]:
        """Read until each of these requests is answered (at most 10 s); no request twice."""
        answered: dict[int, Any] = {}
        async with asyncio.timeout(10):
            while set(answered) != set(requests):
                frame = await self.ws.recv()
                if isinstance(frame, bytes):
                    continue  # DAVE's binary ops
                op = parse_server_frame(frame)
                request = getattr(op, "id", None)
                if request is None:
                    self.events.append(str(op.op))
                    continue
                assert request in requests and request not in answered, frame
                answered[request] = op
        return answered


async def test_each_request_gets_its_own_answer_and_a_refusal_names_the_request_it_refuses(
    parley: ParleyServer,
) -> None:
    (host_link,) = summit_links(parley, [("Delegation A", Role.HOST)])
    link = InviteLink.parse(host_link)
    async with websockets.connect(link.websocket_url, max_size=None) as ws:
        device = RawDevice(ws)
        await device.send("identify", 1, identify_data(link.token, ["Host"]))
        ready = (await device.answers(1))[1]
        assert isinstance(ready, ReadyOp) and ready.d.admitted

        # Two requests in flight at once, the first refused: each answer names its own request.
        await device.send("subscribe", 2, {"feed": 12345})
        await device.send("lock", 3, {"locked": True})
        await device.send("heartbeat", 4, {"nonce": 7})
        await device.send("lock", 5, {"locked": "yes"})  # refused at the edge, id still known
        answers = await device.answers(2, 3, 4, 5)
        refused, locked, ack, invalid = answers[2], answers[3], answers[4], answers[5]
        assert (
            isinstance(refused, ErrorOp) and refused.d.code == "no_such_feed" and refused.d.op == "subscribe"
        )
        assert isinstance(locked, OkOp)
        assert ack.op == "heartbeat_ack" and ack.d.nonce == 7
        assert (
            isinstance(invalid, ErrorOp) and invalid.d.code == "invalid" and "d.locked" in invalid.d.message
        )
        assert "course" in device.events  # the lock's event came too, without an id
