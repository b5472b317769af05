"""An officer console in the SDK: a device that holds its delegation's key (docs/identity.md).

It certifies itself (it holds the key), proves to the server that it is its delegation's console
(`officer`), publishes the pins its delegation's devices trust (`pins`), and from then on is sent
its delegation's enrollment requests. The officer compares each request's code with the one the
device shows and approves it (`approve`: a certificate, which the server relays to every device)
or not; `revoke` publishes a new revocation list. Nothing it sends is trusted for having come from
a console: each device checks every document against its own delegation's key.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Protocol, TypeVar

from parley.identity.certificate import DeviceCertificate
from parley.identity.delegation_key import DelegationKey
from parley.identity.enrollment import EnrollmentRequest, approve, verify_request
from parley.identity.fingerprint import Fingerprint
from parley.identity.officer import prove_officer
from parley.identity.pins import PinSet, sign_pins
from parley.identity.revocation import RevocationList, sign_revocations
from parley.protocol.base import Model
from parley.protocol.device_ops import (
    Approve,
    ApproveData,
    Decline,
    DeviceOp,
    Officer,
    OfficerData,
    Pins,
    PinsData,
    Revocations,
    RevocationsData,
    Signers,
    SignersData,
    UserData,
)
from parley.protocol.fields import b64url
from parley.protocol.server_ops import OkOp
from parley.record.signers import SignerList, sign_signers

DEFAULT_VALIDITY = 72 * 3600  # s, as `parley delegation approve` gives

Answer = TypeVar("Answer", bound=Model)


class Requester(Protocol):
    """The client the console speaks through (parley.sdk.client.ParleyClient)."""

    async def request(self, op: DeviceOp, answer: type[Answer]) -> Answer: ...


@dataclass(frozen=True)
class Waiting:
    """An enrollment request relayed to this console: the device's user id and its request."""

    user_id: int
    request: EnrollmentRequest


class OfficerConsole:
    def __init__(
        self,
        key: DelegationKey,
        summit_id: str,
        delegation: str,
        pins: Mapping[str, Fingerprint] | None = None,
        on_request: Callable[[Waiting], None] | None = None,
    ) -> None:
        self.key = key
        self.summit_id = summit_id
        self.delegation = delegation  # the delegation this key signs for: requests for others are refused
        self.pins = dict(pins) if pins is not None else None  # what the officer pins, read over a phone
        self.on_request = on_request
        self.waiting: list[Waiting] = []
        self.issued: list[DeviceCertificate] = []
        self.revoked: set[bytes] = set()

    def certify_self(self, request: EnrollmentRequest, now: float) -> DeviceCertificate:
        """The console's own device: it holds the key, so it approves its own request."""
        return self._issue(request, now, DEFAULT_VALIDITY)

    def sign_pins(self, held: PinSet | None) -> PinSet | None:
        """The pin set to publish, numbered after the one held; None when there is nothing new."""
        if self.pins is None:
            return None
        if held is not None and held.issuer == self.key.public_key and dict(held.pins) == self.pins:
            return None
        sequence = held.sequence + 1 if held is not None else 1
        return sign_pins(self.key, self.summit_id, sequence, self.pins)

    def received(self, user_id: int, request: EnrollmentRequest) -> Waiting:
        """An enrollment request the server relayed: kept if sound (signed by the key it asks to
        certify, for this summit and delegation). ValueError otherwise, naming why."""
        verify_request(request)
        claim = request.claim
        if claim.summit_id != self.summit_id or claim.delegation != self.delegation:
            raise ValueError(
                f"a request for {claim.delegation} in summit {claim.summit_id}: not this console's"
            )
        if claim.user_id != user_id:
            raise ValueError(f"a request for user {claim.user_id} relayed as user {user_id}'s")
        waiting = Waiting(user_id, request)
        self.waiting = [w for w in self.waiting if w.user_id != user_id] + [waiting]
        if self.on_request:
            self.on_request(waiting)
        return waiting

    # -- through the server ----------------------------------------------------------------------

    async def announce(
        self, client: Requester, user_id: int, own: DeviceCertificate, pins: PinSet | None
    ) -> None:
        """Prove the console, hand the server its own certificate, publish the pins."""
        proof = prove_officer(self.key, self.summit_id, user_id)
        await client.request(
            Officer(d=OfficerData(key=b64url(self.key.public_key), proof=b64url(proof))), OkOp
        )
        await client.request(Approve(d=ApproveData(certificate=own.to_text())), OkOp)
        if pins is not None:
            await client.request(Pins(d=PinsData(pin_set=pins.to_text())), OkOp)

    async def approve(
        self, client: Requester, waiting: Waiting, valid_for: int = DEFAULT_VALIDITY
    ) -> DeviceCertificate:
        """The officer said yes (having compared the code): sign and send the certificate."""
        certificate = self._issue(waiting.request, time.time(), valid_for)
        await client.request(Approve(d=ApproveData(certificate=certificate.to_text())), OkOp)
        self.waiting = [w for w in self.waiting if w is not waiting]
        return certificate

    async def decline(self, client: Requester, waiting: Waiting) -> None:
        """The officer said no: the device's stay ends (`enrollment_declined`)."""
        await client.request(Decline(d=UserData(user_id=waiting.user_id)), OkOp)
        self.waiting = [w for w in self.waiting if w is not waiting]

    async def revoke(self, client: Requester, serials: Iterable[bytes], sequence: int) -> RevocationList:
        """Revoke certificates (added to those revoked before: each list replaces the last)."""
        self.revoked |= set(serials)
        revocations = sign_revocations(self.key, self.summit_id, sequence, self.revoked, int(time.time()))
        await client.request(Revocations(d=RevocationsData(revocations=revocations.to_text())), OkOp)
        return revocations

    async def name_signers(self, client: Requester, serials: Iterable[bytes], sequence: int) -> SignerList:
        """Who may sign the record for the delegation besides its principals (the whole list:
        each replaces the last)."""
        signers = sign_signers(self.key, self.summit_id, self.delegation, sequence, serials)
        await client.request(Signers(d=SignersData(signer_list=signers.to_text())), OkOp)
        return signers

    def _issue(self, request: EnrollmentRequest, now: float, valid_for: int) -> DeviceCertificate:
        certificate = approve(self.key, request, self.delegation, int(now), valid_for)
        self.issued.append(certificate)
        return certificate
