"""The SDK client's edge, fed frames by hand through a fake socket (no server, no network): what
it cannot read is dropped and counted, events become models, and each request is settled by its
own answer or its timeout, never by another frame."""

from __future__ import annotations

import asyncio
import json

import pytest

from parley.protocol.codes import ErrorCode
from parley.protocol.server_ops import ErrorData, ErrorOp, OkOp, ParleyServerOp, encode
from parley.sdk.client import ParleyClient
from parley.sdk.requests import RequestRefused, RequestTimeout

pytestmark = pytest.mark.anyio


class RecordingSocket:
    """Stands in for the client's WebSocket: keeps each frame the client sends."""

    def __init__(self) -> None:
        self.sent: asyncio.Queue[str] = asyncio.Queue()

    async def send(self, frame: str) -> None:
        await self.sent.put(frame)

    async def next_request(self) -> tuple[str, int]:
        """The op and id of the next request the client sends."""
        message = json.loads(await asyncio.wait_for(self.sent.get(), 5))
        return message["op"], message["id"]


def client_on(socket: RecordingSocket, seen: list[ParleyServerOp] | None = None) -> ParleyClient:
    client = ParleyClient(
        "http://127.0.0.1:1/join/summit#token", ["Tester"], on_event=seen.append if seen is not None else None
    )
    client._ws = socket  # type: ignore[assignment]
    return client


def error(code: ErrorCode, request: int | None = None) -> str:
    return encode(ErrorOp(id=request, d=ErrorData(code=code, message=f"{code} for the test", op=None)))


async def test_frames_the_client_cannot_read_are_dropped_and_counted_and_events_arrive_as_models() -> None:
    seen: list[ParleyServerOp] = []
    client = client_on(RecordingSocket(), seen)
    unreadable = [
        "not json",
        "[1, 2]",
        '{"op": "no_such_op", "d": {}}',
        '{"op": "lobby_left", "d": {"user_id": "seven"}}',
        '{"op": "error", "d": {"code": "no_such_code", "message": "", "op": null}}',
        '{"op": "clock_warning", "d": {"minutes_left": 2, "extra": true}}',
    ]
    for frame in unreadable:
        await client._handle(frame)
    assert client.unreadable == len(unreadable) and not seen and not client.errors

    await client._handle(error(ErrorCode.DAVE_LATE_COMMIT))
    (late,) = client.errors
    assert late.code is ErrorCode.DAVE_LATE_COMMIT and client.ended is None
    await client._handle(error(ErrorCode.REMOVED))
    assert client.ended is not None and client.ended.code is ErrorCode.REMOVED
    assert [type(op) for op in seen] == [ErrorOp, ErrorOp]


async def test_a_request_is_settled_by_its_own_answer_not_by_an_error_that_arrives_first() -> None:
    socket = RecordingSocket()
    client = client_on(socket)
    busy = asyncio.create_task(client.take_over())
    lock = asyncio.create_task(client.lock(True))
    (op, take_over_id), (_, lock_id) = await socket.next_request(), await socket.next_request()
    assert op == "take_over" and take_over_id != lock_id

    await client._handle(error(ErrorCode.DAVE_LATE_COMMIT))  # answers no request
    await client._handle(encode(OkOp(id=lock_id)))
    await lock  # done: the summit is locked
    assert not busy.done()
    await client._handle(error(ErrorCode.BOOTH_BUSY, take_over_id))
    with pytest.raises(RequestRefused) as refused:
        await busy
    assert refused.value.code is ErrorCode.BOOTH_BUSY and refused.value.op == "take_over"
    assert [e.code for e in client.errors] == [ErrorCode.DAVE_LATE_COMMIT]  # not the answers

    await client._handle(encode(OkOp(id=take_over_id)))  # a second answer settles nothing
    assert client.unreadable == 0


async def test_a_request_left_unanswered_raises_request_timeout_after_the_clients_bound() -> None:
    socket = RecordingSocket()
    client = client_on(socket)
    client.request_timeout = 0.2
    with pytest.raises(RequestTimeout) as unanswered:
        await client.hand_over()
    assert unanswered.value.code is ErrorCode.TIMEOUT and unanswered.value.op == "hand_over"
    assert isinstance(unanswered.value, TimeoutError)
    _, request = await socket.next_request()
    await client._handle(encode(OkOp(id=request)))  # too late: dropped, nothing breaks
    assert client.unreadable == 0 and not client.errors
