"""A DAVE gateway and its members in one process, joined by an in-memory FIFO.

Messages cross it in their wire form (binary frames with per-connection sequence numbers, JSON
through `json.dumps`), in the order they were sent, as a server connection would carry them. The
demo (`parley e2ee-demo`) and the tests use it to run real members (dave.py, or davey in a child
process) through the real gateway without sockets. It drives the server's gateway, so it lives
beside it, not in the SDK.
"""

from __future__ import annotations

import json
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from parley.e2ee.gateway import Accepted, DaveGateway, Expulsion, Refused, Send
from parley.e2ee.opcodes import ServerBinaryOp, encode_server_binary
from parley.protocol.dave_ops import DaveDeviceOp, DaveServerOp, parse_dave_device_op, parse_dave_server_op
from parley.protocol.server_ops import encode


class WireMember(Protocol):
    """Anything that takes server frames and answers with client frames."""

    user_id: int

    def receive_wire(self, message: bytes | DaveServerOp) -> list[bytes | DaveDeviceOp]: ...


@dataclass(frozen=True)
class Refusal:
    user_id: int
    refused: Refused


class LocalGroup:
    def __init__(self, gateway: DaveGateway, clock: Callable[[], float] = time.monotonic) -> None:
        self.gateway = gateway
        self.clock = clock
        self.members: dict[int, WireMember] = {}
        self.refusals: list[Refusal] = []
        self.expelled: list[Expulsion] = []
        self._sequence: dict[int, int] = {}
        self._to_members: deque[tuple[int, bytes | DaveServerOp]] = deque()
        self._to_gateway: deque[tuple[int, bytes | DaveDeviceOp]] = deque()

    def join(self, member: WireMember) -> None:
        self.members[member.user_id] = member
        self._sequence[member.user_id] = 0
        self._post(self.gateway.connect(member.user_id, self.clock()))

    def leave(self, user_id: int) -> None:
        """The member's connection ends: it hears nothing more from the gateway."""
        self.members.pop(user_id, None)
        self._post(self.gateway.leave(user_id, self.clock()))

    def tick(self) -> None:
        self._post(self.gateway.tick(self.clock()))

    def _post(self, outcome: Accepted | Refused, sender: int | None = None) -> None:
        if isinstance(outcome, Refused):
            assert sender is not None
            self.refusals.append(Refusal(sender, outcome))
            return
        for send in outcome.sends:
            self._to_members.append((send.to, self._encode(send)))
        for expulsion in outcome.expelled:  # the server closes its connection: it hears no more
            self.expelled.append(expulsion)
            self.members.pop(expulsion.user_id, None)

    def _encode(self, send: Send) -> bytes | DaveServerOp:
        op = send.op
        if isinstance(op, ServerBinaryOp):
            sequence = self._sequence.get(send.to, 0)
            self._sequence[send.to] = sequence + 1
            return encode_server_binary(sequence, op)
        return parse_dave_server_op(json.loads(encode(op.to_json())))  # as a member reads it

    def step(self) -> bool:
        """Deliver one message, gateway-bound first; False when nothing is in flight."""
        if self._to_gateway:
            user_id, sent = self._to_gateway.popleft()
            if user_id not in self.members:
                return True  # sent by a connection that has since closed
            now = self.clock()
            if isinstance(sent, bytes):
                self._post(self.gateway.receive_binary(user_id, sent, now), user_id)
            else:
                self._post(self.gateway.receive_json(user_id, sent, now), user_id)
            return True
        if self._to_members:
            user_id, received = self._to_members.popleft()
            member = self.members.get(user_id)
            if member is not None:
                for reply in member.receive_wire(received):
                    if not isinstance(reply, bytes):  # as the server's edge reads it
                        reply = parse_dave_device_op(json.loads(encode(reply)))
                    self._to_gateway.append((user_id, reply))
            return True
        return False

    def run(self, max_steps: int = 100_000) -> int:
        """Deliver until nothing is in flight; returns the number of messages delivered."""
        for count in range(max_steps):
            if not self.step():
                return count
        raise RuntimeError(f"still busy after {max_steps} messages: a message loop?")
