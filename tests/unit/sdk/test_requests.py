"""A device's waiting requests: each answer settles the request its id names, and no other."""

from __future__ import annotations

import pytest

from parley.protocol.codes import ErrorCode
from parley.protocol.server_ops import ErrorData, ErrorOp, OkOp
from parley.sdk.requests import Disconnected, Requests

pytestmark = pytest.mark.anyio


async def test_each_answer_settles_the_request_its_id_names_whatever_the_order() -> None:
    requests = Requests()
    (first, one), (second, two) = requests.open("admit"), requests.open("lock")
    assert first != second
    refusal = ErrorOp(id=second, d=ErrorData(code=ErrorCode.FORBIDDEN, message="hosts only", op="lock"))
    assert requests.settle(second, refusal)
    assert two.result() is refusal and not one.done()
    assert requests.settle(first, OkOp(id=first))
    assert isinstance(one.result(), OkOp)


async def test_an_answer_no_request_waits_for_settles_nothing() -> None:
    requests = Requests()
    request, answer = requests.open("take_over")
    requests.forget(request)  # given up on: its answer comes too late
    assert not requests.settle(request, OkOp(id=request))
    assert not requests.settle(request + 1, OkOp(id=request + 1))  # never asked
    assert not answer.done()


async def test_a_closed_connection_fails_every_waiting_and_later_request_with_the_ending() -> None:
    requests = Requests()
    _, waiting = requests.open("publish")
    ending = ErrorData(code=ErrorCode.REMOVED, message="the host removed this device", op=None)
    requests.close(ending)
    closed = waiting.result()
    assert isinstance(closed, Disconnected) and closed.op == "publish" and closed.ending == ending
    _, later = requests.open("cough")
    too_late = later.result()
    assert isinstance(too_late, Disconnected) and too_late.op == "cough" and "removed" in str(too_late)
