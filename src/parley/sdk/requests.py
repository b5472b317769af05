"""This device's requests and their answers.

Every request the SDK sends carries an id (1, 2, 3... on each connection), and the server
answers it exactly once with the same id: the request's own answer (`ready`, `publish_answer`,
`subscribe_offer`, `heartbeat_ack`), `ok`, or an `error` (parley.protocol.server_ops). `Requests`
holds the requests still waiting and hands each answer to its own, so that one refusal never
settles, or is mistaken for, another request's answer. Waiting is bounded: the client gives up
after REQUEST_TIMEOUT.

Errors a request raises (besides what the transport raises when it is closed):
* RequestRefused (ParleyError) - the server answered `error`: its code and message
* RequestTimeout (ParleyError, TimeoutError) - no answer within REQUEST_TIMEOUT (code `timeout`)
* Disconnected (ConnectionError) - the connection closed before the answer came
"""

from __future__ import annotations

import asyncio
import itertools

from parley.protocol.codes import ErrorCode
from parley.protocol.errors import ParleyError
from parley.protocol.server_ops import ErrorData, ParleyServerOp

# s: how long a request waits for its answer. Longer than the server's own wait on a Janus request
# (parley.media.janus_client.REQUEST_TIMEOUT, 15 s), so that a media failure reaches the device as
# the server's error rather than as this timeout.
REQUEST_TIMEOUT = 20.0


class RequestRefused(ParleyError):
    """The server refused a request of this device; `code` says why, `op` names the request."""

    def __init__(self, op: str, error: ErrorData) -> None:
        super().__init__(error.code, error.message)
        self.op = op


class RequestTimeout(ParleyError, TimeoutError):
    """The server did not answer a request within REQUEST_TIMEOUT."""

    def __init__(self, op: str, seconds: float) -> None:
        super().__init__(ErrorCode.TIMEOUT, f"no answer to {op} within {seconds:g} s")
        self.op = op


class Disconnected(ConnectionError):
    """The signalling connection closed before the server answered; `ending` is what the server
    said ended the device's stay (`removed`, `summit_ended`...), if it said so."""

    def __init__(self, op: str, ending: ErrorData | None) -> None:
        why = f": {ending.message}" if ending else ""
        super().__init__(f"the connection closed before {op} was answered{why}")
        self.op = op
        self.ending = ending


# What settles a request: the server's answer, or Disconnected when the connection closed first
# (a value, not an exception set on the future: a request that failed on its own way out, while
# sending, leaves no exception behind that nobody retrieves).
Settled = ParleyServerOp | Disconnected


class Requests:
    """The requests of one connection that wait for their answer, by id."""

    def __init__(self) -> None:
        self._ids = itertools.count(1)
        self._waiting: dict[int, tuple[str, asyncio.Future[Settled]]] = {}
        self._closed: tuple[ErrorData | None] | None = None  # (the ending, if any) once closed

    def next_id(self) -> int:
        return next(self._ids)

    def open(self, op: str) -> tuple[int, asyncio.Future[Settled]]:
        """A new request for `op`: its id, and the future its answer settles (at once, with
        Disconnected, when the connection has closed already)."""
        request, answer = self.next_id(), asyncio.get_running_loop().create_future()
        if self._closed is not None:
            answer.set_result(Disconnected(op, self._closed[0]))
        else:
            self._waiting[request] = (op, answer)
        return request, answer

    def forget(self, request: int) -> None:
        """The request no longer waits (answered, or given up): a late answer settles nothing."""
        self._waiting.pop(request, None)

    def settle(self, request: int, answer: ParleyServerOp) -> bool:
        """Hand an answer to the request with its id; False when none waits for it (given up
        already, or never asked: the caller treats it as unsolicited)."""
        entry = self._waiting.pop(request, None)
        if entry is None or entry[1].done():
            return False
        entry[1].set_result(answer)
        return True

    def close(self, ending: ErrorData | None) -> None:
        """The connection closed (`ending`: why, if the server said): every request still
        waiting is settled with Disconnected, and so is every later one."""
        self._closed = (ending,)
        for op, waiting in self._waiting.values():
            if not waiting.done():
                waiting.set_result(Disconnected(op, ending))
        self._waiting.clear()
