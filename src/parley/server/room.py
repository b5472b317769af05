"""A summit's live call: the devices in it, its DAVE gateway, and its media at Janus.

The room is where policy meets the wire: every device's DAVE ops go through the room's gateway,
every publish and subscribe through the room's media plane, and the room tells every device who
is present. It owns one task (the gateway's transition timer) and each device's writer task;
`close` cancels them all.

Sending never blocks the room: each device has a bounded outbox drained by its own writer. A
device that cannot keep up (outbox full) is disconnected rather than allowed to stall the others.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, Protocol

from parley.e2ee.gateway import Accepted, DaveGateway, Outcome, Refused
from parley.e2ee.opcodes import ServerBinaryOp, encode_server_binary
from parley.interpretation.booth import Booth, BoothError
from parley.media.plane import MediaError
from parley.media.sdp import media_sections
from parley.server.protocol import DeviceInfo, encode_key, server_op, text_frame
from parley.summit.course import Admission, Course, CourseError, Phase
from parley.summit.model import Delegation, Role, Summit

log = logging.getLogger(__name__)

OUTBOX_LIMIT = 256  # messages; a device this far behind is gone or hostile


class Connection(Protocol):
    """What the room needs of a device's socket."""

    async def send_text(self, data: str) -> None: ...
    async def send_bytes(self, data: bytes) -> None: ...
    async def close(self, code: int, reason: str) -> None: ...


class MediaPlane(Protocol):
    """Janus, as the room uses it (parley.media.plane.JanusMediaPlane).

    `on_published(feed)` is called when a device's published media is up at Janus: only then can
    others subscribe to it.
    """

    on_published: Callable[[int], Coroutine[Any, Any, None]] | None

    async def open_room(self, room: int) -> None: ...
    async def publish(self, room: int, feed: int, display: str, offer_sdp: str) -> str: ...
    async def subscribe(self, room: int, subscriber: int, feed: int) -> str: ...
    async def start(self, subscriber: int, feed: int, answer_sdp: str) -> None: ...
    async def trickle(self, device: int, feed: int | None, candidate: dict[str, Any] | None) -> None: ...
    async def forward_audio(self, room: int, feed: int, forward: bool) -> None: ...
    async def drop_device(self, device: int) -> None: ...
    async def close_room(self, room: int) -> None: ...


@dataclass(frozen=True)
class Close:
    """Queued after a device's last messages: the writer closes the socket once they are sent."""

    code: int
    reason: str


# Close codes of the endings the course decides (docs/protocol.md).
CLOSE_REFUSED = 4003
CLOSE_OPENING_ENDED = 4005
CLOSE_SUMMIT_ENDED = 4006
CLOSE_REMOVED = 4009
CLOSE_REPLACED = 4010

Persist = Callable[[Course, str, dict[str, Any]], Coroutine[Any, Any, None]]
Outgoing = str | bytes | Close


@dataclass(eq=False)
class Device:
    user_id: int
    delegation: Delegation
    role: Role
    people: list[str]
    connection: Connection
    key: bytes  # its DAVE signature key: the gateway admits only key packages it signed
    link: str  # its invitation's tag (InvitationSigner.link_tag)
    language: str | None = None  # an interpreter's channel
    publishing: bool = False
    outbox: asyncio.Queue[str | bytes | Close | None] = field(
        default_factory=lambda: asyncio.Queue(OUTBOX_LIMIT)
    )
    sequence: int = 0
    writer: asyncio.Task[None] | None = None

    def info(self) -> DeviceInfo:
        return DeviceInfo(
            user_id=self.user_id,
            delegation_id=self.delegation.delegation_id,
            delegation=self.delegation.name,
            role=self.role.value,
            people=self.people,
            publishing=self.publishing,
            language=self.language,
            key=encode_key(self.key),
            link=self.link,
        )


class Room:
    def __init__(
        self,
        summit: Summit,
        media: MediaPlane,
        course: Course,
        persist: Persist,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.summit = summit
        self.media = media
        self.course = course
        self._persist = persist
        self.clock = clock
        self.wall_clock = wall_clock
        self.gateway = DaveGateway(summit.channel_id)
        self.devices: dict[int, Device] = {}  # admitted: in the call
        self.lobby: dict[int, Device] = {}  # waiting: no keys, no media
        self._timer: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        self._course_timer: asyncio.Task[None] | None = None
        self._course_wake = asyncio.Event()
        self._media_ready = False
        self._media_lock = asyncio.Lock()
        self._chores: set[asyncio.Task[None]] = set()
        self.booths = {language: Booth(language) for language in summit.languages}
        self._forwarded: dict[str, int | None] = {}  # per channel: the feed Janus forwards
        self._booth_lock = asyncio.Lock()  # one booth change at a time reaches Janus

    # -- membership ------------------------------------------------------------------------------

    def may_enter(self, role: Role) -> CourseError | None:
        """Whether a device of this role may identify now (checked before it is given a place)."""
        if self.course.phase is Phase.ENDED:
            return CourseError("summit_ended", "this summit has ended")
        if role is Role.PRESS and not self.course.press_allowed():
            return CourseError("opening_ended", "the opening has ended: the press is no longer admitted")
        if self.course.locked and role is not Role.HOST:
            return CourseError("summit_locked", "the host has locked this summit: no one else may join")
        return None

    async def arrive(self, device: Device, ready: Callable[[bool], str]) -> None:
        """A device identified: the host goes straight in, everyone else waits in the lobby.

        The same device coming back (same invitation and key, so the same user id: a reloaded
        page, a dropped connection not yet noticed) replaces its earlier connection, and goes
        straight back in if that one was in the call: it is the holder of the same key.

        Raises MediaError, with nothing of the device left behind, when the media server cannot
        open the summit's room for a device that goes straight in.
        """
        was_in = await self._replace(device.user_id)
        straight_in = was_in or device.role is Role.HOST or self.course.admission is Admission.OPEN
        if straight_in:
            await self._ensure_media()
        device.writer = asyncio.create_task(self._write(device), name=f"writer-{device.user_id}")
        if straight_in:
            self._enqueue(device, ready(True))
            await self._admit(device)
        else:
            self.lobby[device.user_id] = device
            self._enqueue(device, ready(False))
            self._broadcast_lobby()
        # A device that arrives after a warning was given still learns how close the end is.
        if self.course.warned and self.course.phase is not Phase.ENDED:
            left = min(self.course.warned)
            self._enqueue(device, server_op("clock_warning", {"minutes_left": left}))
        self._ensure_course_timer()

    async def _replace(self, user_id: int) -> bool:
        """Dismiss an earlier connection of this user id; whether it was in the call."""
        earlier = self.devices.get(user_id) or self.lobby.get(user_id)
        if earlier is None:
            return False
        was_in = user_id in self.devices
        await self._dismiss(
            earlier, "replaced", "this device connected again; this connection is closed", CLOSE_REPLACED
        )
        return was_in

    async def _admit(self, device: Device) -> None:
        """Into the call: the roster tells everyone, DAVE starts for it, it may publish now."""
        await self._ensure_media()
        self.lobby.pop(device.user_id, None)
        self.devices[device.user_id] = device
        if device.language is not None:
            self.booths[device.language] = self.booths[device.language].join(device.user_id)
        self._enqueue(device, server_op("admitted", {}))
        self._broadcast_roster()
        self._broadcast_lobby()
        self._deliver(self.gateway.connect(device.user_id, self.clock(), device.key))
        self._ensure_timer()

    async def depart(self, user_id: int, only: Device | None = None) -> None:
        """The device is gone (left, disconnected, kicked): DAVE removes it, Janus drops it.

        `only`: depart only if that device still holds the user id (a replaced connection's
        end must not take its successor out)."""
        if only is not None and only not in (self.devices.get(user_id), self.lobby.get(user_id)):
            return
        if (waiting := self.lobby.pop(user_id, None)) is not None:
            self._stop_writer(waiting)
            self._broadcast_lobby()
            return
        device = self.devices.pop(user_id, None)
        if device is None:
            return
        self._deliver(self.gateway.leave(user_id, self.clock()))
        if device.language is not None:
            self.booths[device.language] = self.booths[device.language].leave(user_id)
        self._broadcast_roster()
        self._stop_writer(device)
        try:
            await self.media.drop_device(user_id)
            if device.language is not None:
                await self._forward(device.language)
        except MediaError as e:
            log.warning("media cleanup for a departed device failed: %s", e)

    def _stop_writer(self, device: Device) -> None:
        if device.writer:
            try:
                device.outbox.put_nowait(None)  # the writer sends what is queued, then stops
            except asyncio.QueueFull:
                device.writer.cancel()

    async def _dismiss(self, device: Device, code: str, message: str, close: int) -> None:
        """End a device's stay: tell it why, close its socket, take it out of DAVE and Janus."""
        self._enqueue(device, server_op("error", {"code": code, "message": message, "op": None}))
        self._enqueue(device, Close(close, code))
        await self.depart(device.user_id)

    @property
    def empty(self) -> bool:
        return not self.devices and not self.lobby

    async def close(self) -> None:
        for user_id in [*self.devices, *self.lobby]:
            await self.depart(user_id)
        for task in (self._timer, self._course_timer):
            if task:
                task.cancel()
        if self._media_ready:
            await self.media.close_room(self.summit.channel_id)

    # -- host controls ---------------------------------------------------------------------------

    def _may_admit(self, by: Device, waiting: Device) -> bool:
        if by.role is Role.HOST:
            return True
        return (
            self.course.admission is Admission.DELEGATION_HEAD
            and by.role is Role.PRINCIPAL
            and by.delegation.delegation_id == waiting.delegation.delegation_id
        )

    def can_admit(self, device: Device) -> bool:
        return device.role is Role.HOST or (
            self.course.admission is Admission.DELEGATION_HEAD and device.role is Role.PRINCIPAL
        )

    def _waiting(self, by: Device, user_id: int) -> Device:
        waiting = self.lobby.get(user_id)
        if waiting is None:
            raise CourseError("not_waiting", f"device {user_id} is not waiting in the lobby")
        if not self._may_admit(by, waiting):
            raise CourseError("forbidden", "only the host, or its own delegation's head, admits a device")
        return waiting

    def _host(self, by: Device, what: str) -> None:
        if by.role is not Role.HOST:
            raise CourseError("forbidden", f"only the host may {what}")

    async def admit(self, by: Device, user_id: int) -> None:
        waiting = self._waiting(by, user_id)
        await self._log("admitted", {"user_id": user_id, "by": by.user_id})
        await self._admit(waiting)

    async def refuse(self, by: Device, user_id: int) -> None:
        waiting = self._waiting(by, user_id)
        await self._log("refused", {"user_id": user_id, "by": by.user_id})
        await self._dismiss(waiting, "admission_refused", "the host did not admit this device", CLOSE_REFUSED)

    async def remove(self, by: Device, user_id: int) -> None:
        self._host(by, "remove a device")
        device = self.devices.get(user_id) or self.lobby.get(user_id)
        if device is None or device is by:
            raise CourseError("no_such_device", f"device {user_id} is not in this summit")
        await self._log("removed", {"user_id": user_id, "by": by.user_id})
        await self._dismiss(device, "removed", "the host removed this device from the summit", CLOSE_REMOVED)

    async def lock(self, by: Device, locked: bool) -> None:
        self._host(by, "lock the summit")
        await self._change(self.course.lock(locked), "locked" if locked else "unlocked", {"by": by.user_id})

    async def allow_overrun(self, by: Device) -> None:
        self._host(by, "let the summit run over")
        await self._change(self.course.allow_overrun(), "overrun_allowed", {"by": by.user_id})

    async def advance(self, by: Device, to: Phase) -> None:
        self._host(by, "change the phase")
        await self._change(self.course.advance(to), "phase", {"phase": to.value, "by": by.user_id})

    # -- the course ------------------------------------------------------------------------------

    async def _log(self, kind: str, detail: dict[str, Any]) -> None:
        await self._persist(self.course, kind, detail)

    async def _change(self, course: Course, kind: str, detail: dict[str, Any]) -> None:
        """A new course: persist and log it, tell everyone, then act on what it means."""
        before, self.course = self.course, course
        await self._persist(course, kind, detail)
        self._broadcast_course()
        self._course_wake.set()
        if before.press_allowed() and not course.press_allowed():
            await self._cut_press()
        if course.phase is Phase.ENDED:
            for device in [*self.devices.values(), *self.lobby.values()]:
                await self._dismiss(device, "summit_ended", "the summit has ended", CLOSE_SUMMIT_ENDED)

    async def _cut_press(self) -> None:
        """The opening ends: every press device leaves the DAVE group (the keys rotate for the
        others) and Janus, and its token no longer admits it (may_enter)."""
        for device in [d for d in [*self.devices.values(), *self.lobby.values()] if d.role is Role.PRESS]:
            await self._dismiss(device, "opening_ended", "the opening has ended", CLOSE_OPENING_ENDED)

    def course_info(self) -> dict[str, Any]:
        c = self.course
        return {
            "phase": c.phase.value,
            "locked": c.locked,
            "starts_at": c.starts_at.isoformat(),
            "ends_at": c.ends_at.isoformat(),
            "server_time": self.wall_clock().isoformat(),
            "at_end": c.at_end.value,
            "overrun": c.overrun,
            "admission": c.admission.value,
        }

    def _broadcast_course(self) -> None:
        text = server_op("course", self.course_info())
        for device in [*self.devices.values(), *self.lobby.values()]:
            self._enqueue(device, text)

    def _ensure_course_timer(self) -> None:
        if self._course_timer is None or self._course_timer.done():
            self._course_timer = asyncio.create_task(
                self._run_course(), name=f"clock-{self.summit.summit_id}"
            )

    async def _run_course(self) -> None:
        """The summit's clock: warnings at 10 and 2 minutes, then the end (or the overrun)."""
        while self.course.phase is not Phase.ENDED:
            self._course_wake.clear()
            now = self.wall_clock()
            course, due = self.course.due_warnings(now)
            if due:
                self.course = course
                for device in [*self.devices.values(), *self.lobby.values()]:
                    self._enqueue(device, server_op("clock_warning", {"minutes_left": due[-1]}))
            if self.course.ends_now(now):
                await self._change(
                    replace(self.course, phase=Phase.ENDED), "phase", {"phase": "ended", "by": "clock"}
                )
                return
            deadline = self.course.next_deadline()
            delay = (deadline - now).total_seconds() if deadline else None
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._course_wake.wait(), delay)

    # -- DAVE ----------------------------------------------------------------------------------

    def dave_binary(self, user_id: int, frame: bytes) -> Refused | None:
        return self._outcome(self.gateway.receive_binary(user_id, frame, self.clock()))

    def dave_json(self, user_id: int, message: dict[str, Any]) -> Refused | None:
        return self._outcome(self.gateway.receive_json(user_id, message, self.clock()))

    def _outcome(self, outcome: Outcome) -> Refused | None:
        if isinstance(outcome, Refused):
            return outcome
        self._deliver(outcome)
        self._ensure_timer()
        return None

    def _deliver(self, accepted: Accepted) -> None:
        for send in accepted.sends:
            device = self.devices.get(send.to)
            if device is None:
                continue
            if isinstance(send.op, ServerBinaryOp):
                frame = encode_server_binary(device.sequence, send.op)
                device.sequence = (device.sequence + 1) & 0xFFFF
                self._enqueue(device, frame)
            else:
                self._enqueue(device, text_frame(send.op.to_json()))

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

    # -- media ---------------------------------------------------------------------------------

    async def _ensure_media(self) -> None:
        async with self._media_lock:  # two devices arriving together open the room once
            if not self._media_ready:
                await self.media.open_room(self.summit.channel_id)
                self._media_ready = True

    async def publish(self, device: Device, offer_sdp: str, channel: str | None = None) -> str:
        """Relay the device's offer to Janus; it shows as publishing once its media is up.

        To the floor, or (an interpreter, audio only) into its language channel. An interpreter
        who is not live is muted at Janus before its offer is answered, so no frame of it can
        reach a listener before it takes over.
        """
        if device.user_id not in self.devices:
            raise MediaError("not_admitted", "wait until the host admits this device")
        if device.role is Role.PRESS:
            raise MediaError("forbidden", "press devices see and hear the floor; they never publish")
        _check_channel(self.summit.languages, device, channel, offer_sdp)
        display = f"{device.delegation.name}: {', '.join(device.people)}"
        answer = await self.media.publish(self.summit.channel_id, device.user_id, display, offer_sdp)
        if device.language is not None:
            async with self._booth_lock:
                live = self.booths[device.language].forwarding() == device.user_id
                await self.media.forward_audio(self.summit.channel_id, device.user_id, live)
                if live:
                    self._forwarded[device.language] = device.user_id
        return answer

    def published(self, user_id: int) -> None:
        device = self.devices.get(user_id)
        if device is not None and not device.publishing:
            device.publishing = True
            self._broadcast_roster()

    async def subscribe(self, device: Device, feed: int) -> str:
        if device.user_id not in self.devices:
            raise MediaError("not_admitted", "wait until the host admits this device")
        source = self.devices.get(feed)
        if source is None or not source.publishing or feed == device.user_id:
            raise MediaError("no_such_feed", f"device {feed} is not publishing in this summit")
        if device.role is Role.PRESS and source.role is Role.PRESS:
            raise MediaError("forbidden", "the press hears the floor only")
        return await self.media.subscribe(self.summit.channel_id, device.user_id, feed)

    async def media_reset(self) -> None:
        """Janus restarted: every handle is gone. Reopen the room; devices publish again."""
        self._media_ready = False
        self._forwarded.clear()  # new publishers: each is muted or not as it publishes again
        await self._ensure_media()
        for device in self.devices.values():
            device.publishing = False
        for device in self.devices.values():
            self._enqueue(device, server_op("media_reset", {"reason": "the media server restarted"}))
        self._broadcast_roster()

    # -- interpretation --------------------------------------------------------------------------

    def _booth_of(self, device: Device) -> str:
        if device.language is None:
            raise BoothError("forbidden", "only interpreters work in a booth")
        return device.language

    async def take_over(self, device: Device) -> None:
        language = self._booth_of(device)
        await self._booth_change(
            language, self.booths[language].take_over(device.user_id, device.publishing), "booth_live"
        )

    async def hand_over(self, device: Device) -> None:
        language = self._booth_of(device)
        await self._booth_change(language, self.booths[language].hand_over(device.user_id), "booth_hand_over")

    async def cough(self, device: Device, muted: bool) -> None:
        language = self._booth_of(device)
        await self._booth_change(language, self.booths[language].cough(device.user_id, muted), None)

    async def _booth_change(self, language: str, booth: Booth, kind: str | None) -> None:
        """Take the new booth, make Janus forward what it says, tell everyone, log turns."""
        self.booths[language] = booth
        await self._forward(language)
        self._broadcast_booths()
        if kind is not None:  # the summit's log keeps who interpreted when; coughs are not records
            await self._log(kind, {"language": language, "user_id": booth.live})

    async def _forward(self, language: str) -> None:
        """Bring Janus in line with the booth: forward its live voice only. Serialised, and the
        outgoing voice is muted before the incoming one is let through: never two voices."""
        async with self._booth_lock:
            target = self.booths[language].forwarding()
            current = self._forwarded.get(language)
            if target == current:
                return
            if current is not None:
                await self.media.forward_audio(self.summit.channel_id, current, False)
                self._forwarded[language] = None
            if target is not None:
                await self.media.forward_audio(self.summit.channel_id, target, True)
                self._forwarded[language] = target

    def _broadcast_booths(self) -> None:
        if not self.booths:
            return
        text = server_op("booths", {"booths": [b.info() for b in self.booths.values()]})
        for device in self.devices.values():
            self._enqueue(device, text)

    # -- sending -------------------------------------------------------------------------------

    def roster(self) -> list[dict[str, Any]]:
        return [d.info().model_dump(mode="json") for d in self.devices.values()]

    def _broadcast_roster(self) -> None:
        text = server_op("roster", {"devices": self.roster()})
        for device in self.devices.values():
            self._enqueue(device, text)
        self._broadcast_booths()  # who is in which booth changes with the roster

    def _broadcast_lobby(self) -> None:
        """Each device that may admit sees the devices it may admit."""
        for device in self.devices.values():
            if self.can_admit(device):
                waiting = [
                    w.info().model_dump(mode="json")
                    for w in self.lobby.values()
                    if self._may_admit(device, w)
                ]
                self._enqueue(device, server_op("lobby", {"waiting": waiting}))

    def send(self, device: Device, text: str) -> None:
        self._enqueue(device, text)

    def _enqueue(self, device: Device, message: Outgoing) -> None:
        try:
            device.outbox.put_nowait(message)
        except asyncio.QueueFull:
            log.warning("device %d is not reading; disconnecting it", device.user_id)
            if device.writer:
                device.writer.cancel()
            task = asyncio.get_running_loop().create_task(self._drop_slow(device))
            self._chores.add(task)  # owned until done, so it is neither lost nor left running
            task.add_done_callback(self._chores.discard)

    async def _drop_slow(self, device: Device) -> None:
        await device.connection.close(1008, "not reading fast enough")
        await self.depart(device.user_id)

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


def _check_channel(languages: tuple[str, ...], device: Device, channel: str | None, offer_sdp: str) -> None:
    """The publishing policy of channels: raise MediaError naming the rule a publish breaks."""
    if channel is not None and channel not in languages:
        raise MediaError("no_such_channel", f"this summit has no {channel!r} channel")
    if device.language is None:
        if channel is not None:
            rule = f"only the {channel} booth's interpreters publish into the {channel} channel"
            raise MediaError("channel_forbidden", rule)
        return
    if channel != device.language:
        where = "to the floor" if channel is None else f"into the {channel} channel"
        raise MediaError(
            "channel_forbidden", f"you interpret into {device.language}: you cannot publish {where}"
        )
    if any(s.active and s.kind != "audio" for s in media_sections(offer_sdp)):
        raise MediaError("audio_only", "interpreters publish audio only: offer no video")
