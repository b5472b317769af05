"""A delegation's security officer for tests: it holds the delegation key (real Ed25519), comes in
over the real WebSocket as a device of its own (its own invitation, its own DAVE key), proves it
holds the key (`officer`, parley.identity.officer), publishes its delegation's pin set, and
approves the enrollment requests it receives (parley.identity.enrollment.approve), as an officer
at their console would, after comparing the code on the device's screen.

Nothing here touches the server's insides: it speaks the protocol, as the CLI officer console
does. A certified summit keeps it out of the call (it holds no certificate of its own), which is
where an officer's console waits.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any

import dave
import websockets

from parley.identity.certificate import DeviceCertificate
from parley.identity.delegation_key import DelegationKey
from parley.identity.enrollment import EnrollmentRequest, approve
from parley.identity.fingerprint import Fingerprint
from parley.identity.officer import prove_officer
from parley.identity.pins import sign_pins
from parley.identity.revocation import sign_revocations
from parley.protocol.fields import b64url, key_proof_message
from parley.sdk.client import InviteLink
from parley.sdk.identity import KEY_VERSION, public_key, sign

HOUR = 3600


@dataclass(frozen=True)
class Delegation:
    """A delegation of the test summit and its officer's key."""

    name: str
    key: DelegationKey

    @property
    def fingerprint(self) -> Fingerprint:
        return self.key.fingerprint


def delegation(name: str) -> Delegation:
    return Delegation(name, DelegationKey.generate())


def certified_link(link: str, own: Delegation) -> str:
    """The invitation link as the officer hands it to a device: the own delegation's fingerprint
    rides in the fragment beside the token (web/src/invite.ts)."""
    base, token = link.split("#", 1)
    return f"{base}#token={token}&delegation={own.fingerprint.digits}"


class OfficerConsole:
    """One delegation's officer console, connected; `requests` fills as devices enroll."""

    def __init__(self, ws: websockets.ClientConnection, own: Delegation, summit_id: str) -> None:
        self.ws = ws
        self.own = own
        self.summit_id = summit_id
        self.requests: asyncio.Queue[EnrollmentRequest] = asyncio.Queue()
        self.approved: dict[int, DeviceCertificate] = {}  # user id -> the certificate given
        self._revocations = 0
        self._answers: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._next_id = 2  # 1 was identify

    async def request(self, op: str, d: dict[str, Any]) -> dict[str, Any]:
        """Send a request and wait for its answer; AssertionError names a refusal."""
        request_id = self._next_id
        self._next_id += 1
        answer: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._answers[request_id] = answer
        await self.ws.send(json.dumps({"op": op, "id": request_id, "d": d}))
        reply = await asyncio.wait_for(answer, 15)
        assert reply["op"] != "error", f"the server refused {op}: {reply['d']}"
        return reply

    async def approve_next(self, timeout: float = 30) -> EnrollmentRequest:
        """Wait for the next enrollment request, approve it (an hour's certificate), send it."""
        request = await asyncio.wait_for(self.requests.get(), timeout)
        certificate = approve(self.own.key, request, self.own.name, int(time.time()) - 60, HOUR)
        await self.request("approve", {"certificate": certificate.to_text()})
        self.approved[request.claim.user_id] = certificate
        return request

    async def revoke(self, *user_ids: int) -> None:
        """Revoke the certificates given to these devices (a new list, numbered up)."""
        self._revocations += 1
        serials = [self.approved[user_id].serial for user_id in user_ids]
        revocations = sign_revocations(
            self.own.key, self.summit_id, self._revocations, serials, int(time.time())
        )
        await self.request("revocations", {"revocations": revocations.to_text()})

    async def read(self) -> None:
        async for frame in self.ws:
            if not isinstance(frame, str):
                continue
            message = json.loads(frame)
            answer = self._answers.pop(message.get("id") or 0, None)
            if answer is not None:
                answer.set_result(message)
            elif message.get("op") == "enrollment_request":
                self.requests.put_nowait(EnrollmentRequest.from_text(message["d"]["request"]))

    async def beat(self, interval: float) -> None:
        nonce = 0
        while True:
            await asyncio.sleep(interval)
            await self.ws.send(json.dumps({"op": "heartbeat", "d": {"nonce": nonce}}))
            nonce += 1


@contextlib.asynccontextmanager
async def officer_console(
    link: str, own: Delegation, pinned: Mapping[str, Fingerprint], name: str = "Security Officer"
) -> AsyncIterator[OfficerConsole]:
    """Connect as `own`'s officer with the invitation `link`, prove the key, publish the pin set
    of `pinned` (every delegation of the summit, the own among them)."""
    invite = InviteLink.parse(link)
    key = dave.SignatureKeyPair.generate(KEY_VERSION)
    public = public_key(key)
    proof = sign(key, key_proof_message(invite.token, public))
    async with websockets.connect(invite.websocket_url, max_size=4 * 1024 * 1024) as ws:
        identify = {"token": invite.token, "people": [name], "key": b64url(public), "proof": b64url(proof)}
        await ws.send(json.dumps({"op": "identify", "id": 1, "d": identify}))
        ready = json.loads(await asyncio.wait_for(ws.recv(), 15))
        assert ready["op"] == "ready", ready
        user_id = ready["d"]["device"]["user_id"]
        console = OfficerConsole(ws, own, invite.summit_id)
        tasks = [
            asyncio.create_task(console.read()),
            asyncio.create_task(console.beat(ready["d"]["heartbeat_interval"])),
        ]
        try:
            officer_proof = prove_officer(own.key, invite.summit_id, user_id)
            await console.request(
                "officer", {"key": b64url(own.key.public_key), "proof": b64url(officer_proof)}
            )
            pin_set = sign_pins(own.key, invite.summit_id, 1, pinned)
            await console.request("pins", {"pin_set": pin_set.to_text()})
            yield console
        finally:
            for task in tasks:
                task.cancel()
