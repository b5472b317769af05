"""The officer's console on a terminal: each request shown with its code and claim, approved only
on a typed `approve N`. The client it approves through is a fake that records (no server)."""

from __future__ import annotations

import pytest
from identities import Delegation

from parley.identity.certificate import DeviceCertificate, issue
from parley.identity.enrollment import make_request
from parley.sdk.console_prompt import HELP, ConsolePrompt
from parley.sdk.officer import Waiting

pytestmark = pytest.mark.anyio

A = Delegation("Delegation A", "a1a1a1a1a1a1a1a1")
ANN = A.device(7)


class FakeApprovingClient:
    def __init__(self) -> None:
        self.approved: list[Waiting] = []
        self.declined: list[Waiting] = []
        self.revoked: list[bytes] = []

    async def approve(self, waiting: Waiting) -> DeviceCertificate:
        self.approved.append(waiting)
        return issue(A.key, waiting.request.claim, 0, 3600)

    async def decline(self, waiting: Waiting) -> None:
        self.declined.append(waiting)

    async def revoke_certificates(self, serials: list[bytes]) -> None:
        self.revoked += serials


async def test_a_request_is_shown_with_its_code_and_approved_only_when_typed() -> None:
    said: list[str] = []
    prompt = ConsolePrompt(said.append)
    client = FakeApprovingClient()
    prompt.client = client  # type: ignore[assignment]
    waiting = Waiting(ANN.user_id, make_request(ANN.claim, ANN.sign))
    prompt.show(waiting)
    assert "Enrollment request 1: code " + waiting.request.code in said[0] and "Ann Example" in said[0]
    for line in ("", "yes", "approve", "approve 2", "approve one"):
        await prompt.command(line)
    assert client.approved == [] and said[1:] == [HELP] * 4
    await prompt.command("approve 1")
    assert client.approved == [waiting] and said[-1].startswith("Certified Ann Example")
    await prompt.command("revoke 00ff")
    await prompt.command("revoke xyz")
    assert client.revoked == [b"\x00\xff"] and said[-1].startswith("Not done:")
    await prompt.command("decline 3")
    assert client.declined == [] and said[-1] == HELP
    await prompt.command("decline 1")
    assert client.declined == [waiting] and said[-1].startswith("Declined Ann Example")
