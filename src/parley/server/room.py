"""A summit's live call: the devices in it, its DAVE gateway, and its media at Janus.

The room is where policy meets the wire: every device's DAVE ops go through the room's gateway,
every publish and subscribe through the room's media plane, and the room tells every device who
is present. It owns one task (the gateway's transition timer) and each device's writer task;
`close` cancels them all.

Sending never blocks the room: each device has a bounded outbox drained by its own writer. A
device that cannot keep up (outbox full) is disconnected rather than allowed to stall the others.

What one invitation link can bring in is bounded too (`may_enter`): as many devices at once as
the invitation allows, and at most MAX_LOBBY waiting in the lobby; those who may admit learn of
the lobby one device at a time (`lobby_joined` / `lobby_left`), never as one growing list.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Coroutine, Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, Protocol

from parley.e2ee.gateway import Accepted, DaveGateway, Expulsion, Outcome, Refused
from parley.e2ee.opcodes import ServerBinaryOp, encode_server_binary
from parley.interpretation.booth import Booth, BoothError
from parley.media.plane import MediaError
from parley.media.sdp import OfferError, check_offer, parse_offer
from parley.protocol.codes import CloseCode, ErrorCode
from parley.protocol.dave_ops import DaveDeviceOp
from parley.protocol.errors import PolicyError
from parley.protocol.fields import b64url
from parley.protocol.server_ops import (
    AdmittedOp,
    BoothsData,
    BoothsOp,
    ClockWarningData,
    ClockWarningOp,
    CourseInfo,
    CourseOp,
    DeviceInfo,
    ErrorData,
    ErrorOp,
    LobbyDevice,
    LobbyJoinedData,
    LobbyJoinedOp,
    LobbyLeftData,
    LobbyLeftOp,
    MediaResetData,
    MediaResetOp,
    ParleyServerOp,
    RosterData,
    RosterOp,
    encode,
)
from parley.summit.course import Admission, Course, CourseError, Phase
from parley.summit.model import Delegation, Role, Summit

log = logging.getLogger(__name__)

OUTBOX_LIMIT = 256  # messages; a device this far behind is gone or hostile
# Devices waiting at once in a summit's lobby. A newly admitted host is told of each in one op,
# so the lobby fits in a host's outbox with room to spare.
MAX_LOBBY = 100
assert MAX_LOBBY < OUTBOX_LIMIT // 2

# What a device may offer to publish: a delegation's device its microphone and camera, an
# interpreter its voice. Anything else (a data channel, a second stream) has no place in the policy.
FLOOR_SECTIONS = {"audio": 1, "video": 1}
CHANNEL_SECTIONS = {"audio": 1}


class Connection(Protocol):
    """What the room needs of a device's socket."""

    async def send_text(self, data: str) -> None: ...
    async def send_bytes(self, data: bytes) -> None: ...
    async def close(self, code: int, reason: str) -> None: ...


class MediaPlane(Protocol):
    """Janus, as the room uses it (parley.media.plane.JanusMediaPlane).

    `on_published(feed)` is called when a device's published media is up at Janus: only then can
    others subscribe to it. `publish(..., forward=False)` answers only once every stream Janus
    holds for the feed is muted (`forward_audio` with False); it leaves nothing published when it
    cannot.
    """

    on_published: Callable[[int], Coroutine[Any, Any, None]] | None

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


@dataclass(frozen=True)
class Close:
    """Queued after a device's last messages: the writer closes the socket once they are sent."""

    code: int
    reason: str


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
    invitation_id: str  # the invitation it identified with
    max_devices: int  # how many devices that invitation may have present at once
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
            role=self.role,
            people=self.people,
            publishing=self.publishing,
            language=self.language,
            key=b64url(self.key),
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
        *,
        links: Links | None = None,
        removed: Iterable[str] = (),
        revoked: Iterable[str] = (),
    ) -> None:
        """`removed` and `revoked`: the summit's invitations so marked in the store, read when the
        room opens; from then on the room keeps both sets (and `links` records the changes)."""
        self.summit = summit
        self.media = media
        self.course = course
        self._persist = persist
        self._links = links
        self.removed: set[str] = set(removed)  # links whose devices wait for the host, flagged
        self.revoked: set[str] = set(revoked)  # links that admit no one
        self.clock = clock
        self.wall_clock = wall_clock
        self.gateway = DaveGateway(summit.channel_id)
        self.devices: dict[int, Device] = {}  # admitted: in the call
        self.lobby: dict[int, Device] = {}  # waiting: no keys, no media
        self._entering: dict[int, Device] = {}  # past may_enter, not yet in the lobby or the call
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

    def may_enter(self, device: Device) -> CourseError | None:
        """Whether this device may come in now; `arrive` asks, and nothing else decides it.

        The course must allow its role; its invitation must not already have as many devices
        present (lobby, call, or arriving) as it allows; and a device that would wait must find
        room in the lobby.
        """
        role = device.role
        if device.invitation_id in self.revoked:
            return CourseError(ErrorCode.INVITATION_REVOKED, "this invitation was withdrawn")
        if self.course.phase is Phase.ENDED:
            return CourseError(ErrorCode.SUMMIT_ENDED, "this summit has ended")
        if role is Role.PRESS and not self.course.press_allowed():
            return CourseError(
                ErrorCode.OPENING_ENDED, "the opening has ended: the press is no longer admitted"
            )
        if self.course.locked and role is not Role.HOST:
            return CourseError(
                ErrorCode.SUMMIT_LOCKED, "the host has locked this summit: no one else may join"
            )
        present = {**self.devices, **self.lobby, **self._entering}
        if device.user_id in present:
            # The same link and key: this device's own earlier connection (another tab, or a
            # dropped connection not noticed yet). It is not displaced: a public key is no proof of
            # holding its private half, and whoever holds the link could otherwise push it out.
            return CourseError(
                ErrorCode.DEVICE_CONNECTED,
                "this device is already connected (another tab or window?); try again once it has left",
            )
        holders = [d for d in present.values() if d.invitation_id == device.invitation_id]
        if len(holders) >= device.max_devices:
            many = "one device" if device.max_devices == 1 else f"{device.max_devices} devices"
            return CourseError(
                ErrorCode.INVITATION_IN_USE,
                f"this invitation admits {many} at a time, and that many are in the summit now",
            )
        if not self._straight_in(device) and len(self.lobby) >= MAX_LOBBY:
            return CourseError(
                ErrorCode.LOBBY_FULL, f"{MAX_LOBBY} devices are waiting in the lobby: try again later"
            )
        return None

    def removed_earlier(self, device: Device) -> bool:
        """The host removed a device of this one's link and has not admitted one since."""
        return device.invitation_id in self.removed

    def _straight_in(self, device: Device) -> bool:
        return not self.removed_earlier(device) and (
            device.role is Role.HOST or self.course.admission is Admission.OPEN
        )

    async def arrive(self, device: Device, ready: Callable[[bool], ParleyServerOp]) -> CourseError | None:
        """A device identified: the host goes straight in (everyone, with open admission), the
        others wait in the lobby; so does any device whose link the host removed a device of.

        Returns the refusal, with nothing done, when `may_enter` refuses it. Raises MediaError,
        with nothing of the device left behind, when the media server cannot open the summit's
        room for a device that goes straight in.
        """
        refusal = self.may_enter(device)
        if refusal is not None:
            return refusal
        # Counted from here on, so that two devices arriving on one link together cannot both
        # pass may_enter while the first waits for the media server.
        self._entering[device.user_id] = device
        try:
            await self._place(device, ready)
        finally:
            del self._entering[device.user_id]
        return None

    async def _place(self, device: Device, ready: Callable[[bool], ParleyServerOp]) -> None:
        straight_in = self._straight_in(device)
        if straight_in:
            await self._ensure_media()
        device.writer = asyncio.create_task(self._write(device), name=f"writer-{device.user_id}")
        if straight_in:
            self._send(device, ready(True))
            await self._admit(device)
        else:
            self.lobby[device.user_id] = device
            self._send(device, ready(False))
            self._lobby_joined(device)
        # A device that arrives after a warning was given still learns how close the end is.
        if self.course.warned and self.course.phase is not Phase.ENDED:
            left = min(self.course.warned)
            self._send(device, ClockWarningOp(d=ClockWarningData(minutes_left=left)))
        self._ensure_course_timer()

    async def _admit(self, device: Device) -> None:
        """Into the call: the roster tells everyone, DAVE starts for it, it may publish now."""
        await self._ensure_media()
        waited = self.lobby.pop(device.user_id, None)
        self.devices[device.user_id] = device
        if device.language is not None:
            self.booths[device.language] = self.booths[device.language].join(device.user_id)
        self._send(device, AdmittedOp())
        self._broadcast_roster()
        if waited is not None:
            self._lobby_left(waited)
        self._show_lobby(device)
        self._deliver(self.gateway.connect(device.user_id, self.clock(), device.key))
        self._ensure_timer()

    async def depart(self, user_id: int, only: Device | None = None) -> None:
        """The device is gone (left, disconnected, kicked): DAVE removes it, Janus drops it.

        `only`: depart only if that device holds the user id (a connection refused at the door
        must not take out the device that holds its user id)."""
        if only is not None and only not in (self.devices.get(user_id), self.lobby.get(user_id)):
            return
        if (waiting := self.lobby.pop(user_id, None)) is not None:
            self._stop_writer(waiting)
            self._lobby_left(waiting)
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

    async def _dismiss(self, device: Device, code: ErrorCode, message: str, close: CloseCode) -> None:
        """End a device's stay: tell it why, close its socket, take it out of DAVE and Janus."""
        self._send(device, ErrorOp(d=ErrorData(code=code, message=message, op=None)))
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
        """The host; or its delegation's head, unless the host removed a device of its link."""
        if by.role is Role.HOST:
            return True
        return (
            not self.removed_earlier(waiting)
            and self.course.admission is Admission.DELEGATION_HEAD
            and by.role is Role.PRINCIPAL
            and by.delegation.delegation_id == waiting.delegation.delegation_id
        )

    def can_admit(self, device: Device) -> bool:
        return device.role is Role.HOST or (
            self.course.admission is Admission.DELEGATION_HEAD and device.role is Role.PRINCIPAL
        )

    def _in_call(self, by: Device) -> None:
        """Controls are for devices in the call: one waiting in the lobby (a removed host among
        them) cannot admit itself or anyone else."""
        if by.user_id not in self.devices:
            raise CourseError(ErrorCode.NOT_ADMITTED, "wait until the host admits this device")

    def _waiting(self, by: Device, user_id: int) -> Device:
        self._in_call(by)
        waiting = self.lobby.get(user_id)
        if waiting is None:
            raise CourseError(ErrorCode.NOT_WAITING, f"device {user_id} is not waiting in the lobby")
        if not self._may_admit(by, waiting):
            raise CourseError(
                ErrorCode.FORBIDDEN, "only the host, or its own delegation's head, admits a device"
            )
        return waiting

    def _host(self, by: Device, what: str) -> None:
        if by.role is not Role.HOST:
            raise CourseError(ErrorCode.FORBIDDEN, f"only the host may {what}")
        self._in_call(by)

    def _present(self, by: Device, user_id: int) -> Device:
        """Another device of this summit, in the call or in the lobby."""
        device = self.devices.get(user_id) or self.lobby.get(user_id)
        if device is None or device is by:
            raise CourseError(ErrorCode.NO_SUCH_DEVICE, f"device {user_id} is not in this summit")
        return device

    async def admit(self, by: Device, user_id: int) -> None:
        """Into the call; admitting a device whose link was removed lifts that removal."""
        waiting = self._waiting(by, user_id)
        detail: dict[str, Any] = {"user_id": user_id, "by": by.user_id}
        if self.removed_earlier(waiting):
            self.removed.discard(waiting.invitation_id)
            if self._links:
                await self._links.mark_removed(waiting.invitation_id, False)
            detail["removal_lifted"] = waiting.invitation_id
        await self._log("admitted", detail)
        await self._admit(waiting)

    async def refuse(self, by: Device, user_id: int) -> None:
        waiting = self._waiting(by, user_id)
        await self._log("refused", {"user_id": user_id, "by": by.user_id})
        await self._dismiss(
            waiting, ErrorCode.ADMISSION_REFUSED, "the host did not admit this device", CloseCode.REFUSED
        )

    async def remove(self, by: Device, user_id: int) -> None:
        """Out of the call (MLS removal, Janus handles dropped); and its link's next devices wait
        in the lobby, flagged, until the host admits one (the mark is kept in the store)."""
        self._host(by, "remove a device")
        device = self._present(by, user_id)
        link = device.invitation_id
        self.removed.add(link)  # before any await: a device of this link arriving now waits
        if self._links:
            await self._links.mark_removed(link, True)
        await self._log("removed", {"user_id": user_id, "by": by.user_id, "invitation_id": link})
        await self._dismiss(
            device, ErrorCode.REMOVED, "the host removed this device from the summit", CloseCode.REMOVED
        )

    async def revoke(self, by: Device, user_id: int) -> None:
        """The host revokes the link this device joined with: see `revoked_link`."""
        self._host(by, "revoke a link")
        link = self._present(by, user_id).invitation_id
        self.revoked.add(link)  # before any await: the link admits no one from now on
        if self._links:
            await self._links.revoke(link)
        await self.revoked_link(link, by.user_id)

    async def revoked_link(self, invitation_id: str, by: int | str) -> int:
        """The link is revoked (in the store already): every device that came with it leaves at
        once, from the call (MLS removal, Janus handles dropped) and from the lobby, and none is
        let in again (may_enter). Returns how many devices left."""
        self.revoked.add(invitation_id)
        self.removed.discard(invitation_id)
        await self._log("revoked", {"invitation_id": invitation_id, "by": by})
        present = [*self.devices.values(), *self.lobby.values()]
        leaving = [d for d in present if d.invitation_id == invitation_id]
        for device in leaving:
            await self._dismiss(
                device, ErrorCode.INVITATION_REVOKED, "this invitation was withdrawn", CloseCode.REFUSED
            )
        return len(leaving)

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
                await self._dismiss(
                    device, ErrorCode.SUMMIT_ENDED, "the summit has ended", CloseCode.SUMMIT_ENDED
                )

    async def _cut_press(self) -> None:
        """The opening ends: every press device leaves the DAVE group (the keys rotate for the
        others) and Janus, and its token no longer admits it (may_enter)."""
        for device in [d for d in [*self.devices.values(), *self.lobby.values()] if d.role is Role.PRESS]:
            await self._dismiss(
                device, ErrorCode.OPENING_ENDED, "the opening has ended", CloseCode.OPENING_ENDED
            )

    def course_info(self) -> CourseInfo:
        c = self.course
        return CourseInfo(
            phase=c.phase,
            locked=c.locked,
            starts_at=c.starts_at.isoformat(),
            ends_at=c.ends_at.isoformat(),
            server_time=self.wall_clock().isoformat(),
            at_end=c.at_end,
            overrun=c.overrun,
            admission=c.admission,
        )

    def _broadcast_course(self) -> None:
        text = encode(CourseOp(d=self.course_info()))
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
                    self._send(device, ClockWarningOp(d=ClockWarningData(minutes_left=due[-1])))
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
            device = self.devices.get(send.to)
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
        device = self.devices.get(expulsion.user_id)
        if device is None:
            return
        n = expulsion.unusable_commits
        log.warning("device %d removed: the other members could not use %d of its commits", device.user_id, n)
        await self._log("expelled", {"user_id": device.user_id, "reason": "unusable_commits", "commits": n})
        message = f"the other members could not use {n} of this device's commits: it is removed"
        await self._dismiss(device, ErrorCode.UNUSABLE_COMMITS, message, CloseCode.UNUSABLE_COMMITS)

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

    # -- media ---------------------------------------------------------------------------------

    async def _ensure_media(self) -> None:
        async with self._media_lock:  # two devices arriving together open the room once
            if not self._media_ready:
                await self.media.open_room(self.summit.channel_id)
                self._media_ready = True

    async def publish(self, device: Device, offer_sdp: str, channel: str | None = None) -> str:
        """Relay the device's offer to Janus; it shows as publishing once its media is up.

        To the floor, or (an interpreter, audio only) into its language channel. An offer whose
        sections the policy cannot map is refused before Janus sees it. An interpreter who is
        not live is muted at Janus, by the streams Janus reports, before its offer is answered,
        so no frame of it can reach a listener before it takes over.
        """
        if device.user_id not in self.devices:
            raise PolicyError(ErrorCode.NOT_ADMITTED, "wait until the host admits this device")
        if device.role is Role.PRESS:
            raise PolicyError(ErrorCode.FORBIDDEN, "press devices see and hear the floor; they never publish")
        _check_publish(self.summit.languages, device, channel, offer_sdp)
        display = f"{device.delegation.name}: {', '.join(device.people)}"
        room = self.summit.channel_id
        if device.language is None:
            return await self.media.publish(room, device.user_id, display, offer_sdp)
        async with self._booth_lock:
            live = self.booths[device.language].forwarding() == device.user_id
            answer = await self.media.publish(room, device.user_id, display, offer_sdp, forward=live)
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
            raise PolicyError(ErrorCode.NOT_ADMITTED, "wait until the host admits this device")
        source = self.devices.get(feed)
        if source is None or not source.publishing or feed == device.user_id:
            raise PolicyError(ErrorCode.NO_SUCH_FEED, f"device {feed} is not publishing in this summit")
        if device.role is Role.PRESS and source.role is Role.PRESS:
            raise PolicyError(ErrorCode.FORBIDDEN, "the press hears the floor only")
        return await self.media.subscribe(self.summit.channel_id, device.user_id, feed)

    async def media_reset(self) -> None:
        """Janus restarted: every handle is gone. Reopen the room; devices publish again."""
        self._media_ready = False
        self._forwarded.clear()  # new publishers: each is muted or not as it publishes again
        await self._ensure_media()
        for device in self.devices.values():
            device.publishing = False
        for device in self.devices.values():
            self._send(device, MediaResetOp(d=MediaResetData(reason="the media server restarted")))
        self._broadcast_roster()

    # -- interpretation --------------------------------------------------------------------------

    def _booth_of(self, device: Device) -> str:
        if device.language is None:
            raise BoothError(ErrorCode.FORBIDDEN, "only interpreters work in a booth")
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
        text = encode(BoothsOp(d=BoothsData(booths=[b.info() for b in self.booths.values()])))
        for device in self.devices.values():
            self._enqueue(device, text)

    # -- sending -------------------------------------------------------------------------------

    def roster(self) -> list[DeviceInfo]:
        return [d.info() for d in self.devices.values()]

    def _broadcast_roster(self) -> None:
        text = encode(RosterOp(d=RosterData(devices=self.roster())))
        for device in self.devices.values():
            self._enqueue(device, text)
        self._broadcast_booths()  # who is in which booth changes with the roster

    def _admitters_of(self, waiting: Device) -> list[Device]:
        return [d for d in self.devices.values() if d is not waiting and self._may_admit(d, waiting)]

    def _lobby_joined(self, waiting: Device) -> None:
        """Each device that may admit this one hears of it alone: one op per device, never the
        whole lobby again, so what one arrival costs the host is bounded."""
        text = _lobby_joined(waiting, self.removed_earlier(waiting))
        for device in self._admitters_of(waiting):
            self._enqueue(device, text)

    def _lobby_left(self, waiting: Device) -> None:
        text = encode(LobbyLeftOp(d=LobbyLeftData(user_id=waiting.user_id)))
        for device in self._admitters_of(waiting):
            self._enqueue(device, text)

    def _show_lobby(self, device: Device) -> None:
        """A device just admitted that may admit others learns who waits, one op each."""
        for waiting in self.lobby.values():
            if self._may_admit(device, waiting):
                self._enqueue(device, _lobby_joined(waiting, self.removed_earlier(waiting)))

    def send(self, device: Device, op: ParleyServerOp) -> None:
        self._send(device, op)

    def _send(self, device: Device, op: ParleyServerOp) -> None:
        self._enqueue(device, encode(op))

    def _enqueue(self, device: Device, message: Outgoing) -> None:
        try:
            device.outbox.put_nowait(message)
        except asyncio.QueueFull:
            log.warning("device %d is not reading; disconnecting it", device.user_id)
            if device.writer:
                device.writer.cancel()
            self._chore(self._drop_slow(device))  # owned until done: neither lost nor left running

    async def _drop_slow(self, device: Device) -> None:
        await device.connection.close(CloseCode.ABUSE, "not reading fast enough")
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


def _lobby_joined(waiting: Device, removed_earlier: bool) -> str:
    device = LobbyDevice(**dict(waiting.info()), removed_earlier=removed_earlier)
    return encode(LobbyJoinedOp(d=LobbyJoinedData(device=device)))


def _check_publish(languages: tuple[str, ...], device: Device, channel: str | None, offer_sdp: str) -> None:
    """The publishing policy of channels and offers: raise PolicyError naming the rule a publish breaks."""
    if channel is not None and channel not in languages:
        raise PolicyError(ErrorCode.NO_SUCH_CHANNEL, f"this summit has no {channel!r} channel")
    if device.language is None:
        if channel is not None:
            rule = f"only the {channel} booth's interpreters publish into the {channel} channel"
            raise PolicyError(ErrorCode.CHANNEL_FORBIDDEN, rule)
        may_publish = FLOOR_SECTIONS
    else:
        if channel != device.language:
            where = "to the floor" if channel is None else f"into the {channel} channel"
            raise PolicyError(
                ErrorCode.CHANNEL_FORBIDDEN,
                f"you interpret into {device.language}: you cannot publish {where}",
            )
        if any(s.kind == "video" for s in parse_offer(offer_sdp).sections):
            raise PolicyError(ErrorCode.AUDIO_ONLY, "interpreters publish audio only: offer no video")
        may_publish = CHANNEL_SECTIONS
    try:
        check_offer(offer_sdp, may_publish)
    except OfferError as e:
        raise PolicyError(ErrorCode.UNMAPPABLE_OFFER, str(e)) from e
