"""A summit's live call, as the asyncio shell of its policy (parley.server.room_policy).

The room is where policy meets the wire. `RoomPolicy` decides (who is in, who waits, the course,
the booths) and returns effects; the room feeds it every event and performs the effects: each
device's outbox and writer, the DAVE gateway and its transition timer, Janus through the media
plane, the store through `persist` and `Links`, and the summit's clock. It owns the gateway
timer, the clock and each device's writer task; `close` cancels them all.

Effects are performed one event at a time, in the order the policy gave them (`_perform`): an
event's roster never overtakes a later one's, and a booth's mute reaches Janus before the unmute
that follows it. Every event is fed to the policy and its effects queued for performing without
a suspension in between, so the order of performing is the order of events.

Sending never blocks the room: each device has a bounded outbox drained by its own writer. A
device that cannot keep up (outbox full) is disconnected rather than allowed to stall the others.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Coroutine, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from parley.e2ee.gateway import Accepted, DaveGateway, Expulsion, Outcome, Refused
from parley.e2ee.opcodes import ServerBinaryOp, encode_server_binary
from parley.media.plane import MediaError
from parley.protocol.dave_ops import DaveDeviceOp
from parley.protocol.server_ops import CourseInfo, DeviceInfo, ParleyServerOp, RecordEntriesOp, encode
from parley.server.attendee import Attendee
from parley.server.identity_relay import Keep
from parley.server.record_relay import RecordChange
from parley.server.room_policy import (
    MAX_LOBBY,
    Close,
    DropMedia,
    Effect,
    Effects,
    Forward,
    JoinGroup,
    KeepDocument,
    KeepRecord,
    LeaveGroup,
    Log,
    MarkRemoved,
    RevokeLink,
    RoomPolicy,
    Send,
    StopSending,
)
from parley.store.kept_record import NO_RECORD, KeptRecord
from parley.summit.course import Course, CourseError, Phase
from parley.summit.model import Summit

log = logging.getLogger(__name__)

OUTBOX_LIMIT = 256  # messages; a device this far behind is gone or hostile
# A newly admitted host is told of each device in the lobby in one op each.
assert MAX_LOBBY < OUTBOX_LIMIT // 2


class Connection(Protocol):
    """What the room needs of a device's socket."""

    async def send_text(self, data: str) -> None: ...
    async def send_bytes(self, data: bytes) -> None: ...
    async def close(self, code: int, reason: str) -> None: ...


class MediaPlane(Protocol):
    """Janus, as the room uses it (parley.media.plane.JanusMediaPlane).

    `on_published(feed)` is called when a device's published media is up at Janus: only then can
    others subscribe to it; `on_subscribed(subscriber, feed)` when a subscription is up (its
    publisher is asked for a keyframe). `publish(..., forward=False)` answers only once every stream Janus
    holds for the feed is muted (`forward_audio` with False); it leaves nothing published when it
    cannot.
    """

    on_published: Callable[[int], Coroutine[Any, Any, None]] | None
    on_subscribed: Callable[[int, int], Coroutine[Any, Any, None]] | None

    async def open_room(self, room: int) -> None: ...
    async def publish(
        self, room: int, feed: int, display: str, offer_sdp: str, *, forward: bool = True
    ) -> str: ...
    async def subscribe(self, room: int, subscriber: int, feed: int) -> str: ...
    async def start(self, subscriber: int, feed: int, answer_sdp: str) -> None: ...
    async def trickle(self, device: int, feed: int | None, candidate: dict[str, Any] | None) -> None: ...
    async def forward_audio(self, room: int, feed: int, forward: bool) -> None: ...
    async def drop_device(self, device: int) -> None: ...
    async def close_room(self, room: int) -> None: ...


class Links(Protocol):
    """Where the room records what the host does to invitation links (the store, through the
    app): they must outlive the room and a restart of the server."""

    async def mark_removed(self, invitation_id: str, removed: bool) -> None: ...
    async def revoke(self, invitation_id: str) -> None: ...


Persist = Callable[[Course, str, dict[str, Any]], Coroutine[Any, Any, None]]
# Where the room keeps a summit's identity documents and its record (the store, through the app).
KeepInStore = Callable[[Keep], Coroutine[Any, Any, None]]
KeepRecordInStore = Callable[[RecordChange], Coroutine[Any, Any, None]]
Outgoing = str | bytes | Close


@dataclass(eq=False)
class Device:
    """One connection of an attendee: what the policy knows of it, and its socket and outbox."""

    attendee: Attendee
    connection: Connection
    outbox: asyncio.Queue[Outgoing | None] = field(default_factory=lambda: asyncio.Queue(OUTBOX_LIMIT))
    sequence: int = 0  # of the DAVE binary ops sent to it
    writer: asyncio.Task[None] | None = None

    @property
    def user_id(self) -> int:
        return self.attendee.user_id

    def info(self) -> DeviceInfo:
        """As it arrives: not publishing yet."""
        return self.attendee.info()


class Room:
    def __init__(
        self,
        summit: Summit,
        media: MediaPlane,
        course: Course,
        persist: Persist,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        *,
        links: Links | None = None,
        removed: Iterable[str] = (),
        revoked: Iterable[str] = (),
        kept: Iterable[Keep] = (),
        keep: KeepInStore | None = None,
        record: KeptRecord = NO_RECORD,
        keep_record: KeepRecordInStore | None = None,
    ) -> None:
        """`removed` and `revoked`: the summit's invitations so marked in the store, read when the
        room opens; from then on the policy keeps both sets (and `links` records the changes).
        `kept`: the summit's identity documents in the store (`keep` stores the new ones);
        `record`: its record (`keep_record` commits each change).
        `clock` drives the DAVE gateway's timeouts, `wall_clock` the summit's course."""
        self.summit = summit
        self.media = media
        self.policy = RoomPolicy(summit, course, removed=removed, revoked=revoked, kept=kept, record=record)
        self._keep = keep
        self._keep_record = keep_record
        self._persist = persist
        self._links = links
        self.clock = clock
        self.wall_clock = wall_clock
        self.gateway = DaveGateway(summit.channel_id)
        self._devices: dict[int, Device] = {}  # placed (in the call or the lobby) and not yet let go
        self._turn = asyncio.Lock()  # one event's effects at a time, in the order of the events
        self._timer: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        self._clock_task: asyncio.Task[None] | None = None
        self._clock_wake = asyncio.Event()
        self._media_ready = False
        self._media_lock = asyncio.Lock()
        self._chores: set[asyncio.Task[None]] = set()

    # -- what the policy holds, by connection ------------------------------------------------------

    @property
    def devices(self) -> dict[int, Device]:
        """In the call."""
        return {user_id: self._devices[user_id] for user_id in self.policy.devices}

    @property
    def lobby(self) -> dict[int, Device]:
        """Waiting for the host."""
        return {user_id: self._devices[user_id] for user_id in self.policy.lobby}

    @property
    def course(self) -> Course:
        return self.policy.course

    @property
    def empty(self) -> bool:
        return self.policy.empty

    def course_info(self) -> CourseInfo:
        return self.policy.course_info(self.wall_clock())

    def can_admit(self, device: Device) -> bool:
        return self.policy.can_admit(device.attendee)

    # -- membership ------------------------------------------------------------------------------

    async def arrive(
        self, device: Device, ready: Callable[[bool], ParleyServerOp], certificate: str | None = None
    ) -> CourseError | None:
        """A device identified: into the call or the lobby, as the policy says (`ready(admitted)`
        is its first op), or, in a certified summit and without a good certificate, enrolling.

        Returns the refusal, with nothing done, when the policy refuses it. Raises MediaError,
        with nothing of the device left behind, when the media server cannot open the summit's
        room for a device that goes straight in.
        """
        user_id = device.user_id
        try:
            straight_in = self.policy.enter(device.attendee)
        except CourseError as refusal:
            return refusal
        try:
            if straight_in:
                await self._ensure_media()
        except BaseException:
            self.policy.abandon(user_id)
            raise
        try:
            effects = self.policy.place(user_id, self.wall_clock(), certificate)
        except CourseError as refusal:  # the door shut while the media room opened
            return refusal
        self._devices[user_id] = device
        device.writer = asyncio.create_task(self._write(device), name=f"writer-{user_id}")
        self.send(device, ready(user_id in self.policy.devices))
        self._ensure_clock()
        await self._perform(effects)
        return None

    async def depart(self, user_id: int, only: Device | None = None) -> None:
        """The device is gone (left, disconnected, kicked): DAVE removes it, Janus drops it.

        `only`: depart only if that device holds the user id (a connection refused at the door
        must not take out the device that holds its user id)."""
        if only is not None and self._devices.get(user_id) is not only:
            return
        await self._perform(self.policy.depart(user_id))

    async def close(self) -> None:
        for user_id in [*self.policy.devices, *self.policy.lobby, *self.policy.enrolling]:
            await self.depart(user_id)
        for task in (self._timer, self._clock_task):
            if task:
                task.cancel()
        if self._media_ready:
            await self.media.close_room(self.summit.channel_id)

    # -- what a device asks (the policy raises its refusals) ----------------------------------------

    async def admit(self, by: Device, user_id: int) -> None:
        """Into the call; admitting a device whose link was removed lifts that removal."""
        await self._ensure_media()  # open already while `by` is in the call, unless Janus restarted
        await self._perform(self.policy.admit(by.attendee, user_id))

    # Delegation-certified identities.

    async def enroll(self, by: Device, request: str) -> None:
        await self._perform(self.policy.enroll(by.attendee, request))

    async def officer(self, by: Device, key: str, proof: str) -> None:
        await self._perform(self.policy.officer(by.attendee, key, proof))

    async def approve(self, by: Device, certificate: str) -> None:
        """A certificate: the device it certifies may go straight into the call (media room open)."""
        await self._ensure_media()
        await self._perform(self.policy.approve(by.attendee, certificate, self.wall_clock()))

    async def decline(self, by: Device, user_id: int) -> None:
        await self._perform(self.policy.decline(by.attendee, user_id))

    async def revocations(self, by: Device, revocations: str) -> None:
        await self._perform(self.policy.revocations(by.attendee, revocations))

    async def pins(self, by: Device, pin_set: str) -> None:
        await self._perform(self.policy.pins(by.attendee, pin_set))

    async def attest(self, by: Device, attestation: str) -> None:
        await self._perform(self.policy.attest(by.attendee, attestation, self.clock()))

    # The record.

    async def record_append(self, by: Device, entry: str, ciphertext: str) -> None:
        """Answered (`ok`) only once the entry is committed to the store: what the writer was told
        is kept survives a crash of the server."""
        await self._perform(self.policy.record_append(by.attendee, entry, ciphertext, self.clock()))

    def record_read(self, by: Device, from_seq: int) -> RecordEntriesOp:
        return self.policy.record_read(by.attendee, from_seq)

    async def record_grant(self, by: Device, grant: str) -> None:
        await self._perform(self.policy.record_grant(by.attendee, grant))

    async def record_head(self, by: Device, head: str) -> None:
        await self._perform(self.policy.record_head(by.attendee, head, self.clock()))

    async def record_close(self, by: Device) -> None:
        await self._perform(self.policy.record_close(by.attendee))

    async def signers(self, by: Device, signer_list: str) -> None:
        await self._perform(self.policy.signers(by.attendee, signer_list))

    async def refuse(self, by: Device, user_id: int) -> None:
        await self._perform(self.policy.refuse(by.attendee, user_id))

    async def remove(self, by: Device, user_id: int) -> None:
        await self._perform(self.policy.remove(by.attendee, user_id))

    async def revoke(self, by: Device, user_id: int) -> None:
        await self._perform(self.policy.revoke(by.attendee, user_id))

    async def revoked_link(self, invitation_id: str, by: int | str) -> int:
        """The organiser revoked a link (in the store already): its devices leave. Returns how many."""
        effects, leaving = self.policy.revoked_link(invitation_id, by)
        await self._perform(effects)
        return leaving

    async def lock(self, by: Device, locked: bool) -> None:
        await self._course_change(self.policy.lock(by.attendee, locked, self.wall_clock()))

    async def allow_overrun(self, by: Device) -> None:
        await self._course_change(self.policy.allow_overrun(by.attendee, self.wall_clock()))

    async def advance(self, by: Device, to: Phase) -> None:
        await self._course_change(self.policy.advance(by.attendee, to, self.wall_clock()))

    async def _course_change(self, effects: Effects) -> None:
        self._clock_wake.set()  # the end may have moved (overrun) or come (ended)
        await self._perform(effects)

    async def take_over(self, device: Device) -> None:
        await self._booth_change(self.policy.take_over(device.attendee))

    async def hand_over(self, device: Device) -> None:
        await self._booth_change(self.policy.hand_over(device.attendee))

    async def cough(self, device: Device, muted: bool) -> None:
        await self._booth_change(self.policy.cough(device.attendee, muted))

    async def _booth_change(self, effects: Effects) -> None:
        """Raises the MediaError of a voice Janus did not let through or mute: the interpreter
        is told (the booth has changed; the next change tries Janus again)."""
        failed = await self._perform(effects)
        if failed is not None:
            raise failed

    # -- media ---------------------------------------------------------------------------------

    async def _ensure_media(self) -> None:
        async with self._media_lock:  # two devices arriving together open the room once
            if not self._media_ready:
                await self.media.open_room(self.summit.channel_id)
                self._media_ready = True

    async def publish(self, device: Device, offer_sdp: str, channel: str | None = None) -> str:
        """Relay the device's offer to Janus (the policy refuses what it cannot map, before Janus
        sees it); it shows as publishing once its media is up. An interpreter's offer waits its
        turn among the booth's changes, so that Janus is told to mute or forward it in order."""
        relay = self.policy.publish(device.attendee, offer_sdp, channel)
        room = self.summit.channel_id
        turn = self._turn if relay.language is not None else contextlib.nullcontext()
        async with turn:
            try:
                return await self.media.publish(
                    room, relay.feed, relay.display, relay.offer_sdp, forward=relay.forward
                )
            except MediaError:
                self.policy.forward_failed(relay)
                raise

    async def published(self, user_id: int) -> None:
        await self._perform(self.policy.published(user_id))

    async def subscribed(self, subscriber: int, feed: int) -> None:
        await self._perform(self.policy.subscribed(subscriber, feed))

    async def subscribe(self, device: Device, feed: int) -> str:
        self.policy.subscribe(device.attendee, feed)
        return await self.media.subscribe(self.summit.channel_id, device.user_id, feed)

    async def media_reset(self) -> None:
        """Janus restarted: every handle is gone. Reopen the room; devices publish again."""
        self._media_ready = False
        await self._ensure_media()
        await self._perform(self.policy.media_reset())

    # -- performing effects ----------------------------------------------------------------------

    async def _perform(self, effects: Effects) -> MediaError | None:
        """Do what the policy said, in order, after the effects of every earlier event.

        A Janus request that fails is logged and the rest still done (the devices must still be
        told, and let go), but for the unmute that follows a failed mute of the same channel:
        never two voices. Returns the first such failure, for a booth change to report."""
        async with self._turn:
            failed: MediaError | None = None
            unmuted: set[str] = set()  # channels whose mute failed in this batch
            for effect in effects:
                if isinstance(effect, Forward) and effect.on and effect.language in unmuted:
                    continue
                try:
                    await self._do(effect)
                except MediaError as e:
                    log.warning("media request %s failed: %s", type(effect).__name__, e)
                    failed = failed or e
                    if isinstance(effect, Forward):
                        self.policy.forward_failed(effect)
                        if not effect.on:
                            unmuted.add(effect.language)
            return failed

    async def _do(self, effect: Effect) -> None:
        match effect:
            case Send(to=to, op=op):
                if (device := self._devices.get(to)) is not None:
                    self.send(device, op)
            case Close(to=to):
                if (device := self._devices.get(to)) is not None:
                    self._enqueue(device, effect)
            case StopSending(to=to):
                if (device := self._devices.pop(to, None)) is not None:
                    self._stop_writer(device)
            case JoinGroup(user_id=user_id, key=key):
                self._deliver(self.gateway.connect(user_id, self.clock(), key))
                self._ensure_timer()
            case LeaveGroup(user_id=user_id):
                self._deliver(self.gateway.leave(user_id, self.clock()))
            case Forward(feed=feed, on=on):
                await self.media.forward_audio(self.summit.channel_id, feed, on)
            case DropMedia(user_id=user_id):
                await self.media.drop_device(user_id)
            case Log(course=course, kind=kind, detail=detail):
                await self._persist(course, kind, detail)
            case MarkRemoved(invitation_id=invitation_id, removed=removed):
                if self._links:
                    await self._links.mark_removed(invitation_id, removed)
            case RevokeLink(invitation_id=invitation_id):
                if self._links:
                    await self._links.revoke(invitation_id)
            case KeepDocument(keep=keep):
                if self._keep:
                    await self._keep(keep)
            case KeepRecord(change=change):
                if self._keep_record:
                    await self._keep_record(change)
            case _:
                raise AssertionError(f"no way to perform {effect!r}")

    # -- the summit's clock ------------------------------------------------------------------------

    def _ensure_clock(self) -> None:
        if self._clock_task is None or self._clock_task.done():
            self._clock_task = asyncio.create_task(self._run_clock(), name=f"clock-{self.summit.summit_id}")

    async def _run_clock(self) -> None:
        """Sleep until the policy's clock deadline (a warning, the end), then tell it the time."""
        while (deadline := self.policy.clock_deadline()) is not None:
            self._clock_wake.clear()
            now = self.wall_clock()
            if now >= deadline:
                await self._perform(self.policy.tick(now))
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._clock_wake.wait(), (deadline - now).total_seconds())

    # -- DAVE ----------------------------------------------------------------------------------

    def dave_binary(self, user_id: int, frame: bytes) -> Refused | None:
        return self._outcome(self.gateway.receive_binary(user_id, frame, self.clock()))

    def dave_json(self, user_id: int, message: DaveDeviceOp) -> Refused | None:
        return self._outcome(self.gateway.receive_json(user_id, message, self.clock()))

    def _outcome(self, outcome: Outcome) -> Refused | None:
        if isinstance(outcome, Refused):
            return outcome
        self._deliver(outcome)
        self._ensure_timer()
        return None

    def _deliver(self, accepted: Accepted) -> None:
        for expulsion in accepted.expelled:  # already out of the group; its stay ends after the sends
            self._chore(self._expel(expulsion))
        for send in accepted.sends:
            device = self._devices.get(send.to)
            if device is None:
                continue
            if isinstance(send.op, ServerBinaryOp):
                frame = encode_server_binary(device.sequence, send.op)
                device.sequence = (device.sequence + 1) & 0xFFFF
                self._enqueue(device, frame)
            else:
                self._enqueue(device, encode(send.op.to_json()))

    async def _expel(self, expulsion: Expulsion) -> None:
        """The gateway removed a device whose commits the others could not use: close it, say why."""
        user_id, n = expulsion.user_id, expulsion.unusable_commits
        if user_id in self.policy.devices:
            log.warning("device %d removed: the other members could not use %d of its commits", user_id, n)
        await self._perform(self.policy.expel(user_id, n))

    def _chore(self, work: Coroutine[Any, Any, None]) -> None:
        """Run `work` in a task the room owns until it is done."""
        task = asyncio.get_running_loop().create_task(work)
        self._chores.add(task)
        task.add_done_callback(self._chores.discard)

    def _ensure_timer(self) -> None:
        if self._timer is None or self._timer.done():
            self._timer = asyncio.create_task(self._run_timer(), name=f"dave-timer-{self.summit.summit_id}")
        self._wake.set()

    async def _run_timer(self) -> None:
        """Drive the gateway's transition timeout: sleep until its deadline, then tick."""
        while True:
            self._wake.clear()
            deadline = self.gateway.deadline()
            if deadline is None:
                await self._wake.wait()
                continue
            delay = deadline - self.clock()
            if delay > 0:
                try:
                    await asyncio.wait_for(self._wake.wait(), delay)
                    continue
                except TimeoutError:
                    pass
            self._deliver(self.gateway.tick(self.clock()))

    # -- sending -------------------------------------------------------------------------------

    def send(self, device: Device, op: ParleyServerOp) -> None:
        self._enqueue(device, encode(op))

    def _stop_writer(self, device: Device) -> None:
        if device.writer:
            try:
                device.outbox.put_nowait(None)  # the writer sends what is queued, then stops
            except asyncio.QueueFull:
                device.writer.cancel()

    def _enqueue(self, device: Device, message: Outgoing) -> None:
        try:
            device.outbox.put_nowait(message)
        except asyncio.QueueFull:
            log.warning("device %d is not reading; disconnecting it", device.user_id)
            if device.writer:
                device.writer.cancel()
            self._chore(self._drop_slow(device))  # owned until done: neither lost nor left running

    async def _drop_slow(self, device: Device) -> None:
        await device.connection.close(1008, "not reading fast enough")
        await self.depart(device.user_id, only=device)

    async def _write(self, device: Device) -> None:
        try:
            while (message := await device.outbox.get()) is not None:
                if isinstance(message, Close):
                    await device.connection.close(message.code, message.reason)
                elif isinstance(message, bytes):
                    await device.connection.send_bytes(message)
                else:
                    await device.connection.send_text(message)
        except Exception as e:  # the socket is gone; the reader sees it and departs the device
            log.info("writer for device %d stopped: %s", device.user_id, type(e).__name__)
