"""One device's signalling connection: identify, then relay ops between the device and its room.

The first frame must be `identify` with a valid invitation for the summit named in the URL;
anything else closes the connection with a reason. After that, Parley ops (publish, subscribe,
trickle, heartbeat, leave) and DAVE ops flow until the device leaves or the socket drops.

Every frame is validated before it reaches the room. A bad one is answered with an `error` op
and counted; a device that keeps sending bad frames is disconnected (4008), and the summit goes
on for the others. DAVE refusals that races produce in normal operation (a late commit) are
reported but not counted, nor is what the rules refuse or the media server fails to do.

Whatever is refused or fails is a `ParleyError` (parley.protocol.errors), raised by the part that decides
it; this module alone turns one into an `error` op (`error_op`) and decides whether it counts
(`counts_as_abuse`), and, at identify, how the connection closes (`_identify_close`).
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Protocol

from parley.e2ee.gateway import Refused
from parley.media.plane import MediaError
from parley.protocol.base import ProtocolError
from parley.protocol.codes import LOST_RACES, PROTOCOL_VIOLATIONS, CloseCode, ErrorCode
from parley.protocol.dave_ops import DaveInvalidCommitWelcome, DaveReadyForTransition
from parley.protocol.device_ops import (
    Admit,
    Advance,
    AllowOverrun,
    Approve,
    Attest,
    Cough,
    Decline,
    DeviceOp,
    Enroll,
    HandOver,
    Heartbeat,
    Identify,
    Leave,
    Lock,
    Officer,
    Pins,
    Publish,
    RecordAppend,
    RecordClose,
    RecordGrant,
    RecordHead,
    RecordRead,
    Refuse,
    Remove,
    Revocations,
    Revoke,
    Signers,
    Subscribe,
    SubscribeAnswer,
    TakeOver,
    Trickle,
    parse_device_frame,
    peek,
)
from parley.protocol.errors import ParleyError
from parley.protocol.server_ops import (
    DelegationInfo,
    ErrorData,
    ErrorOp,
    HeartbeatAckData,
    HeartbeatAckOp,
    OkOp,
    OwnDevice,
    ParleyServerOp,
    PublishAnswerOp,
    ReadyData,
    ReadyOp,
    SdpData,
    SubscribeOfferData,
    SubscribeOfferOp,
    SummitInfo,
    encode,
)
from parley.server.attendee import Attendee
from parley.server.ice import IceServers
from parley.server.rate_limit import SignalingLimits
from parley.server.room import Connection, Device, Room
from parley.summit.admission import Entry
from parley.summit.course import Phase
from parley.summit.invitations import InvitationSigner
from parley.summit.model import Summit

log = logging.getLogger(__name__)

IDENTIFY_TIMEOUT = 10.0
HEARTBEAT_INTERVAL = 15.0
IDLE_TIMEOUT = 3 * HEARTBEAT_INTERVAL
MAX_ERRORS = 8

# How an identify refused by the room closes: the endings with their own codes; every other
# refusal (a locked summit) as 4003, but for those that pass with time, closed as "try again later"
# so that a browser retries: a full lobby, and a link in use (its own earlier connection, dropped
# without a close, holds the link until the server notices, IDLE_TIMEOUT at most).
CLOSE_REFUSALS = {
    ErrorCode.OPENING_ENDED: CloseCode.OPENING_ENDED,
    ErrorCode.SUMMIT_ENDED: CloseCode.SUMMIT_ENDED,
    ErrorCode.LOBBY_FULL: CloseCode.TRY_AGAIN,
    ErrorCode.INVITATION_IN_USE: CloseCode.TRY_AGAIN,
    ErrorCode.DEVICE_CONNECTED: CloseCode.TRY_AGAIN,
}


class Socket(Connection, Protocol):
    async def receive(self) -> str | bytes | None: ...


class Rooms(Protocol):
    """Where the connection finds its summit's room and the server's checks."""

    signer: InvitationSigner
    ice_servers: IceServers
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

    async def _error(self, error: ParleyError, op: str | int | None, request: int | None) -> bool:
        """Tell the device of an error (answering its request, if it made one); False when it has
        now sent too many bad frames."""
        await self._send(error_op(error, op, request))
        if counts_as_abuse(error):
            self.errors += 1
        if self.errors >= MAX_ERRORS:
            await self.socket.close(CloseCode.ABUSE, "too many invalid messages")
            return False
        return True

    async def _send(self, op: ParleyServerOp) -> None:
        if self.room and self.device:
            self.room.send(self.device, op)
        else:
            await self.socket.send_text(encode(op))

    async def _identify(self) -> bool:
        try:
            frame = await asyncio.wait_for(self.socket.receive(), IDENTIFY_TIMEOUT)
        except TimeoutError:
            await self.socket.close(CloseCode.NOT_IDENTIFIED, "identify within 10 s")
            return False
        if frame is None:
            return False
        # Every first frame is an attempt, counted before anything in it is looked at.
        limited = self.rooms.limits.identify(self.address, time.monotonic())
        if limited is not None:
            refusal = ParleyError(ErrorCode.RATE_LIMITED, limited.message)
            await self.socket.send_text(encode(error_op(refusal, "identify", _request_of(frame))))
            await self.socket.close(CloseCode.RATE_LIMITED, "rate_limited")
            return False
        try:
            await self._place(_identify_op(frame))
        except ParleyError as e:
            # The device has no place in the room (and another may hold its user id): say why
            # and close; run() only releases the room.
            self.device = None
            op = None if isinstance(e, ProtocolError) else "identify"
            await self.socket.send_text(encode(error_op(e, op, _request_of(frame))))
            await self.socket.close(*_identify_close(e))
            return False
        return True

    async def _place(self, op: Identify) -> None:
        """Admit the device the token names into its summit's room (in the call or the lobby), or
        raise why not: InvitationError, the room's refusal (CourseError), or MediaError."""
        entry = await self.rooms.admit(op.d.token, self.summit_id)
        summit, delegation, invitation = entry.summit, entry.delegation, entry.invitation
        room = await self.rooms.room(summit)
        signer = self.rooms.signer
        attendee = Attendee(
            user_id=signer.device_user_id(invitation.invitation_id, op.d.signature_key),
            delegation=delegation,
            role=entry.role,
            people=tuple(op.d.people),
            key=op.d.signature_key,
            link=signer.link_tag(invitation.invitation_id),
            invitation_id=invitation.invitation_id,
            max_devices=invitation.max_devices,
            language=entry.language,
        )
        self.device = Device(attendee, self.socket)
        device, info = self.device, _summit_info(summit)

        def ready(admitted: bool) -> ReadyOp:
            own = OwnDevice(
                **dict(device.info()),
                # An interpreter starts on the floor (its source), never on its own channel.
                default_channel=None if attendee.language is not None else summit.default_channel(delegation),
            )
            data = ReadyData(
                device=own,
                summit=info,
                admitted=admitted,
                can_admit=room.can_admit(device),
                course=room.course_info(),
                heartbeat_interval=HEARTBEAT_INTERVAL,
                ice_servers=self.rooms.ice_servers.for_device(device.user_id, time.time()),
                test_hooks=self.rooms.test_hooks,
                pin_set=room.policy.identity.pin_set_text(delegation.delegation_id),
            )
            return ReadyOp(id=op.id, d=data)

        self.room = room  # run() releases it
        refusal = await room.arrive(device, ready, op.d.certificate)
        if refusal is not None:
            raise refusal
        log.info("device %d joined summit %s as %s", device.user_id, summit.summit_id, entry.role.value)

    async def _serve(self) -> None:
        assert self.room and self.device
        while True:
            try:
                frame = await asyncio.wait_for(self.socket.receive(), IDLE_TIMEOUT)
            except TimeoutError:
                await self.socket.close(CloseCode.NOT_IDENTIFIED, "no heartbeat")
                return
            if frame is None:
                return
            op: str | int | None = None  # what the error op names: the op, once it is known
            request: int | None = None  # and the request it answers, once that is known
            try:
                if isinstance(frame, bytes):
                    op = "binary"
                    _dave(self.room.dave_binary(self.device.user_id, frame))
                    continue
                try:
                    parsed = parse_device_frame(frame)
                except ProtocolError:
                    op, request = peek(frame)  # only a refused frame is read a second time
                    raise
                op = parsed.op
                if isinstance(parsed, DaveReadyForTransition | DaveInvalidCommitWelcome):
                    _dave(self.room.dave_json(self.device.user_id, parsed))
                    continue
                request = parsed.id
                if isinstance(parsed, Leave):
                    await self.socket.close(CloseCode.NORMAL, "left")
                    return
                answer = await self._dispatch(parsed)
                if parsed.id is not None:
                    await self._send(answer.model_copy(update={"id": parsed.id}))
                elif not isinstance(answer, OkOp):  # an answer of its own is sent either way
                    await self._send(answer)
            except ParleyError as e:
                if not await self._error(e, op, request):
                    return

    async def _dispatch(self, op: DeviceOp) -> ParleyServerOp:
        """Do what the op asks and return its answer (`ok` for a request without an answer of
        its own); a refusal or failure is raised as a ParleyError."""
        assert self.room and self.device
        room, device = self.room, self.device
        if isinstance(op, Heartbeat):
            return HeartbeatAckOp(d=HeartbeatAckData(nonce=op.d.nonce))
        if isinstance(op, Publish):
            answer = await room.publish(device, op.d.sdp, op.d.channel)
            return PublishAnswerOp(d=SdpData(sdp=answer))
        if isinstance(op, Subscribe):
            offer = await room.subscribe(device, op.d.feed)
            return SubscribeOfferOp(d=SubscribeOfferData(feed=op.d.feed, sdp=offer))
        if isinstance(op, SubscribeAnswer):
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
        elif isinstance(op, Enroll):
            await room.enroll(device, op.d.request)
        elif isinstance(op, Officer):
            await room.officer(device, op.d.key, op.d.proof)
        elif isinstance(op, Approve):
            await room.approve(device, op.d.certificate)
        elif isinstance(op, Decline):
            await room.decline(device, op.d.user_id)
        elif isinstance(op, Revocations):
            await room.revocations(device, op.d.revocations)
        elif isinstance(op, Pins):
            await room.pins(device, op.d.pin_set)
        elif isinstance(op, Attest):
            await room.attest(device, op.d.attestation)
        elif isinstance(op, RecordAppend):
            await room.record_append(device, op.d.entry, op.d.ciphertext)
        elif isinstance(op, RecordRead):
            return room.record_read(device, op.d.from_seq)
        elif isinstance(op, RecordGrant):
            await room.record_grant(device, op.d.grant)
        elif isinstance(op, RecordHead):
            await room.record_head(device, op.d.head)
        elif isinstance(op, RecordClose):
            await room.record_close(device)
        elif isinstance(op, Signers):
            await room.signers(device, op.d.signer_list)
        elif isinstance(op, Identify):
            raise ProtocolError(ErrorCode.ALREADY_IDENTIFIED, "this connection is already identified")
        return OkOp()


class DaveRefusal(ParleyError):
    """The DAVE gateway refused a device's DAVE op: `dave_<refusal>`, the gateway's detail."""

    def __init__(self, refused: Refused) -> None:
        super().__init__(ErrorCode(f"dave_{refused.reason.value}"), refused.detail)
        self.reason = refused.reason


def _dave(refused: Refused | None) -> None:
    if refused is not None:
        raise DaveRefusal(refused)


def error_op(error: ParleyError, op: str | int | None, request: int | None = None) -> ErrorOp:
    """The `error` op that tells a device of `error`; `op` names the frame it refuses (an op's
    name, a DAVE opcode, "binary", or None for a frame that names none), `request` the request
    it answers, if the frame carried an id."""
    return ErrorOp(id=request, d=ErrorData(code=error.code, message=str(error), op=op))


def counts_as_abuse(error: ParleyError) -> bool:
    """Whether an error counts toward the device's MAX_ERRORS. A broken protocol does, and so
    does a DAVE op the gateway refuses, unless the refusal only means a race was lost. What the
    rules do not allow (a mistaken click), or not yet, and what a part of the server failed to
    do, are not the device's abuse."""
    if isinstance(error, DaveRefusal):
        return error.code not in LOST_RACES
    return error.code in PROTOCOL_VIOLATIONS


def _request_of(frame: str | bytes) -> int | None:
    return peek(frame)[1] if isinstance(frame, str) else None


def _identify_op(frame: str | bytes) -> Identify:
    if not isinstance(frame, str):
        raise ProtocolError(ErrorCode.IDENTIFY_FIRST, "the first message must be identify")
    op = parse_device_frame(frame)
    if not isinstance(op, Identify):
        raise ProtocolError(ErrorCode.IDENTIFY_FIRST, "the first message must be identify")
    return op


def _identify_close(error: ParleyError) -> tuple[CloseCode, str]:
    """How a refused identify closes (code, reason). A frame that is no identify: 4001, naming
    the rule. A media failure is not the device's fault: try again. The room's refusals close as
    CLOSE_REFUSALS says, and every other refusal, an invitation's included, as 4003."""
    if isinstance(error, ProtocolError):
        return CloseCode.NOT_IDENTIFIED, str(error)
    if isinstance(error, MediaError):
        return CloseCode.TRY_AGAIN, error.code
    return CLOSE_REFUSALS.get(error.code, CloseCode.REFUSED), error.code


def _summit_info(summit: Summit) -> SummitInfo:
    return SummitInfo(
        summit_id=summit.summit_id,
        title=summit.title,
        scheduled_start=summit.scheduled_start.isoformat(),
        duration_minutes=summit.duration_minutes,
        channel_id=summit.channel_id,
        delegations=[
            DelegationInfo(delegation_id=d.delegation_id, name=d.name, working_language=d.working_language)
            for d in summit.delegations
        ],
        languages=list(summit.languages),
        ducking=summit.ducking,
        pins=summit.pins,
    )
