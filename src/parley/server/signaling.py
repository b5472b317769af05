"""One device's signalling connection: identify, then relay ops between the device and its room.

The first frame must be `identify` with a valid invitation for the summit named in the URL;
anything else closes the connection with a reason. After that, Parley ops (publish, subscribe,
trickle, heartbeat, leave) and DAVE ops flow until the device leaves or the socket drops.

Every frame is validated before it reaches the room. A bad one is answered with an `error` op
and counted; a device that keeps sending bad frames is disconnected (4008), and the summit goes
on for the others. DAVE refusals that races produce in normal operation (a late commit) are
reported but not counted.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Protocol

from parley.e2ee.gateway import Refusal, Refused
from parley.interpretation.booth import BoothError
from parley.media.plane import MediaError
from parley.server.protocol import (
    Admit,
    Advance,
    AllowOverrun,
    Cough,
    HandOver,
    Heartbeat,
    Identify,
    Leave,
    Lock,
    ProtocolError,
    Publish,
    Refuse,
    Remove,
    Revoke,
    Subscribe,
    SubscribeAnswer,
    SummitInfo,
    TakeOver,
    Trickle,
    parse_client_json,
    parse_client_op,
    server_op,
)
from parley.server.rate_limit import SignalingLimits
from parley.server.room import CLOSE_OPENING_ENDED, CLOSE_SUMMIT_ENDED, Connection, Device, Room
from parley.summit.admission import Entry
from parley.summit.course import CourseError, Phase
from parley.summit.invitations import InvitationError, InvitationSigner
from parley.summit.model import Summit

log = logging.getLogger(__name__)

IDENTIFY_TIMEOUT = 10.0
HEARTBEAT_INTERVAL = 15.0
IDLE_TIMEOUT = 3 * HEARTBEAT_INTERVAL
MAX_ERRORS = 8

CLOSE_NORMAL = 1000
CLOSE_NOT_IDENTIFIED = 4001
CLOSE_INVITATION = 4003
CLOSE_ABUSE = 4008
CLOSE_TRY_AGAIN = 1013
CLOSE_RATE_LIMITED = 4029  # too many connections or identifies from this address (cf. HTTP 429)
# How an identify refused by the room closes: the endings with their own codes; every other
# refusal (a locked summit) as 4003, but for two that pass with time, closed as "try again later"
# so that a browser retries: a full lobby, and a link in use (its own earlier connection, dropped
# without a close, holds the link until the server notices, IDLE_TIMEOUT at most).
CLOSE_REFUSALS = {
    "opening_ended": CLOSE_OPENING_ENDED,
    "summit_ended": CLOSE_SUMMIT_ENDED,
    "lobby_full": CLOSE_TRY_AGAIN,
    "invitation_in_use": CLOSE_TRY_AGAIN,
}

# DAVE refusals that only mean "you lost a race" or "too late": not abuse. A commit crosses the
# proposals revoked, added or consumed meanwhile (unknown_proposal, missing_proposal,
# nothing_to_commit), or a group re-created meanwhile (wrong_epoch): while members rejoin in quick
# succession (after a member's unusable commits, say) an honest device meets many of them.
_BENIGN_REFUSALS = {
    Refusal.LATE_COMMIT,
    Refusal.MISSING_PROPOSAL,
    Refusal.UNKNOWN_PROPOSAL,
    Refusal.UNKNOWN_TRANSITION,
    Refusal.NOTHING_TO_COMMIT,
    Refusal.WRONG_EPOCH,
}


class Socket(Connection, Protocol):
    async def receive(self) -> str | bytes | None: ...


class Rooms(Protocol):
    """Where the connection finds its summit's room and the server's checks."""

    signer: InvitationSigner
    ice_servers: list[dict[str, object]]
    test_hooks: bool
    limits: SignalingLimits

    async def admit(self, token: str, summit_id: str) -> Entry: ...
    async def room(self, summit: Summit) -> Room: ...
    async def release(self, room: Room) -> None: ...


class SignalingConnection:
    def __init__(self, socket: Socket, rooms: Rooms, summit_id: str, address: str) -> None:
        self.socket = socket
        self.rooms = rooms
        self.summit_id = summit_id
        self.address = address  # the client's, as the rate limits count it
        self.errors = 0
        self.device: Device | None = None
        self.room: Room | None = None

    async def run(self) -> None:
        try:
            if await self._identify():
                await self._serve()
        finally:
            if self.room:
                if self.device:
                    await self.room.depart(self.device.user_id, only=self.device)
                await self.rooms.release(self.room)

    async def _error(self, code: str, message: str, op: object = None, *, counts: bool = True) -> bool:
        """Send an error op; False when the device has now sent too many bad frames."""
        await self._send(server_op("error", {"code": code, "message": message, "op": op}))
        if counts:
            self.errors += 1
        if self.errors >= MAX_ERRORS:
            await self.socket.close(CLOSE_ABUSE, "too many invalid messages")
            return False
        return True

    async def _send(self, text: str) -> None:
        if self.room and self.device:
            self.room.send(self.device, text)
        else:
            await self.socket.send_text(text)

    async def _identify(self) -> bool:
        try:
            frame = await asyncio.wait_for(self.socket.receive(), IDENTIFY_TIMEOUT)
        except TimeoutError:
            await self.socket.close(CLOSE_NOT_IDENTIFIED, "identify within 10 s")
            return False
        if frame is None:
            return False
        # Every first frame is an attempt, counted before anything in it is looked at.
        limited = self.rooms.limits.identify(self.address, time.monotonic())
        if limited is not None:
            await self.socket.send_text(
                server_op("error", {"code": "rate_limited", "message": limited.message, "op": "identify"})
            )
            await self.socket.close(CLOSE_RATE_LIMITED, "rate_limited")
            return False
        try:
            if not isinstance(frame, str):
                raise ProtocolError("identify_first", "the first message must be identify")
            op = parse_client_op(parse_client_json(frame))
            if not isinstance(op, Identify):
                raise ProtocolError("identify_first", "the first message must be identify")
        except ProtocolError as e:
            await self.socket.send_text(server_op("error", {"code": e.code, "message": str(e), "op": None}))
            await self.socket.close(CLOSE_NOT_IDENTIFIED, str(e))
            return False
        try:
            entry = await self.rooms.admit(op.d.token, self.summit_id)
        except InvitationError as e:
            await self.socket.send_text(
                server_op("error", {"code": e.code, "message": str(e), "op": "identify"})
            )
            await self.socket.close(CLOSE_INVITATION, e.code)
            return False
        summit, delegation, invitation = entry.summit, entry.delegation, entry.invitation
        room = await self.rooms.room(summit)
        signer = self.rooms.signer
        self.device = Device(
            user_id=signer.device_user_id(invitation.invitation_id, op.d.signature_key),
            delegation=delegation,
            role=entry.role,
            people=list(op.d.people),
            connection=self.socket,
            key=op.d.signature_key,
            link=signer.link_tag(invitation.invitation_id),
            invitation_id=invitation.invitation_id,
            max_devices=invitation.max_devices,
            language=entry.language,
        )
        device, info = self.device, _summit_info(summit).model_dump(mode="json")

        def ready(admitted: bool) -> str:
            return server_op(
                "ready",
                {
                    "device": {
                        **device.info().model_dump(mode="json"),
                        # An interpreter starts on the floor (its source), never on its own channel.
                        "default_channel": None
                        if device.language is not None
                        else summit.default_channel(delegation),
                    },
                    "summit": info,
                    "admitted": admitted,
                    "can_admit": room.can_admit(device),
                    "course": room.course_info(),
                    "heartbeat_interval": HEARTBEAT_INTERVAL,
                    "ice_servers": self.rooms.ice_servers,
                    "test_hooks": self.rooms.test_hooks,
                },
            )

        self.room = room  # run() releases it
        try:
            refusal = await room.arrive(device, ready)
        except MediaError as e:
            # Not the device's fault and not a crash: say so, and let it try again.
            return await self._not_placed(e.code, str(e), CLOSE_TRY_AGAIN)
        if refusal is not None:
            close = CLOSE_REFUSALS.get(refusal.code, CLOSE_INVITATION)
            return await self._not_placed(refusal.code, str(refusal), close)
        log.info("device %d joined summit %s as %s", self.device.user_id, summit.summit_id, entry.role.value)
        return True

    async def _not_placed(self, code: str, message: str, close: int) -> bool:
        """The room did not take the device: say why and close. It has no place to depart from
        (and another device may hold its user id), so run() only releases the room."""
        self.device = None
        await self.socket.send_text(server_op("error", {"code": code, "message": message, "op": "identify"}))
        await self.socket.close(close, code)
        return False

    async def _serve(self) -> None:
        assert self.room and self.device
        while True:
            try:
                frame = await asyncio.wait_for(self.socket.receive(), IDLE_TIMEOUT)
            except TimeoutError:
                await self.socket.close(CLOSE_NOT_IDENTIFIED, "no heartbeat")
                return
            if frame is None:
                return
            if isinstance(frame, bytes):
                if not await self._refusal(self.room.dave_binary(self.device.user_id, frame), "binary"):
                    return
                continue
            try:
                message = parse_client_json(frame)
                if isinstance(message.get("op"), int):
                    if not await self._refusal(
                        self.room.dave_json(self.device.user_id, message), message["op"]
                    ):
                        return
                    continue
                op = parse_client_op(message)
            except ProtocolError as e:
                if not await self._error(e.code, str(e)):
                    return
                continue
            if isinstance(op, Leave):
                await self.socket.close(CLOSE_NORMAL, "left")
                return
            if not await self._dispatch(op):
                return

    async def _refusal(self, refused: Refused | None, op: object) -> bool:
        if refused is None:
            return True
        counts = refused.reason not in _BENIGN_REFUSALS
        return await self._error(f"dave_{refused.reason.value}", refused.detail, op, counts=counts)

    async def _dispatch(self, op: object) -> bool:
        assert self.room and self.device
        room, device = self.room, self.device
        try:
            if isinstance(op, Heartbeat):
                await self._send(server_op("heartbeat_ack", {"nonce": op.d.nonce}))
            elif isinstance(op, Publish):
                answer = await room.publish(device, op.d.sdp, op.d.channel)
                await self._send(server_op("publish_answer", {"sdp": answer}))
            elif isinstance(op, Subscribe):
                offer = await room.subscribe(device, op.d.feed)
                await self._send(server_op("subscribe_offer", {"feed": op.d.feed, "sdp": offer}))
            elif isinstance(op, SubscribeAnswer):
                await room.media.start(device.user_id, op.d.feed, op.d.sdp)
            elif isinstance(op, Trickle):
                candidate = op.d.candidate.model_dump() if op.d.candidate else None
                await room.media.trickle(device.user_id, op.d.feed, candidate)
            elif isinstance(op, Admit):
                await room.admit(device, op.d.user_id)
            elif isinstance(op, Refuse):
                await room.refuse(device, op.d.user_id)
            elif isinstance(op, Remove):
                await room.remove(device, op.d.user_id)
            elif isinstance(op, Revoke):
                await room.revoke(device, op.d.user_id)
            elif isinstance(op, Lock):
                await room.lock(device, op.d.locked)
            elif isinstance(op, Advance):
                await room.advance(device, Phase(op.d.phase))
            elif isinstance(op, AllowOverrun):
                await room.allow_overrun(device)
            elif isinstance(op, TakeOver):
                await room.take_over(device)
            elif isinstance(op, HandOver):
                await room.hand_over(device)
            elif isinstance(op, Cough):
                await room.cough(device, op.d.muted)
            elif isinstance(op, Identify):
                return await self._error(
                    "already_identified", "this connection is already identified", "identify"
                )
        except (CourseError, BoothError) as e:
            # Not allowed now, or not by this device: say so; a mistaken click is not abuse.
            return await self._error(e.code, str(e), getattr(op, "op", None), counts=False)
        except MediaError as e:
            # A media failure is not the device's fault: report it, do not count it.
            return await self._error(e.code, str(e), getattr(op, "op", None), counts=False)
        return True


def _summit_info(summit: Summit) -> SummitInfo:
    return SummitInfo(
        summit_id=summit.summit_id,
        title=summit.title,
        scheduled_start=summit.scheduled_start.isoformat(),
        duration_minutes=summit.duration_minutes,
        channel_id=summit.channel_id,
        delegations=[
            {"delegation_id": d.delegation_id, "name": d.name, "working_language": d.working_language}
            for d in summit.delegations
        ],
        languages=list(summit.languages),
        ducking=summit.ducking,
    )
