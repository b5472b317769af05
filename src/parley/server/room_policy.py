"""A summit's live call as policy alone: who is in, who waits, what each may do, and what follows.

This is the room's sans-IO core (`parley.server.room` is its asyncio shell). It holds the devices
in the call, the lobby and the devices still entering, the links the host removed a device of or
revoked, the summit's course (parley.summit.course) and its booths
(parley.interpretation.booth). It has no sockets, tasks, Janus or clock of its own: each event
is a method call (a device arrives, the host admits, the time is now T...), and each returns the
effects the shell performs, in order. A refusal is raised, with nothing changed, as the
`PolicyError` of the rule broken (`CourseError` for the course and the lobby, `BoothError` for a
booth's turns, `PolicyError` for channels and feeds).

Effects, performed by the shell in the order given:

* `Send(to, op)` - an event op (roster, course, lobby_joined...) into a device's outbox
* `Close(to, code, reason)` - close the device's socket once what is queued before it is sent
* `StopSending(to)` - the device is out of the room: its writer drains its outbox and stops
* `JoinGroup(user_id, key)`, `LeaveGroup(user_id)` - into and out of the DAVE gateway's group
* `Publish(...)` - relay a device's offer to Janus (the answer of `publish`)
* `Forward(language, feed, on)` - let Janus forward an interpreter's voice, or mute it
* `DropMedia(user_id)` - drop every Janus handle of a device gone
* `Log(course, kind, detail)` - write the course and a record to the summit's log
* `MarkRemoved(invitation_id, removed)`, `RevokeLink(invitation_id)` - what the host did to a
  link, kept in the store
* `KeepDocument(keep)` - a certificate, revocation list, pin set or signer list, kept in the store
* `KeepRecord(change)` - a record entry, a grant of its key or its state, committed to the store
  before any effect after it (the entry's `ok` and its relay come after)

Certified summits (parley.server.identity_relay): a device the server holds no good certificate
for waits, `enrolling`, before the call or the lobby, until its delegation's officer approves it;
the relay keeps and relays the identity documents. A revocation list that revokes a device's
certificate ends its stay. Their record (parley.server.record_relay) goes to the certified
members of the call but the press; it closes at the last clock warning, or when the host says.

Janus must never carry two voices of one booth: the core keeps which feed it last told Janus to
forward per channel, and changes it by muting the outgoing voice before the incoming one is let
through. The shell reports a `Forward` that failed (`forward_failed`), so that the core's record
stays what Janus was last seen to do.

The clock: `clock_deadline()` says when the course next has something to do (a warning, the
end); the shell calls `tick(now)` then.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from parley.identity.certificate import DeviceCertificate
from parley.interpretation.booth import Booth, BoothError
from parley.media.sdp import OfferError, check_offer, parse_offer
from parley.protocol.codes import CloseCode, ErrorCode, RecordState
from parley.protocol.errors import PolicyError
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
    IdentityOp,
    KeyframeData,
    KeyframeOp,
    LobbyDevice,
    LobbyJoinedData,
    LobbyJoinedOp,
    LobbyLeftData,
    LobbyLeftOp,
    MediaResetData,
    MediaResetOp,
    RecordEntriesOp,
    RecordOp,
    RosterData,
    RosterOp,
)
from parley.server.attendee import Attendee
from parley.server.identity_relay import IdentityRelay, Keep, Relay
from parley.server.record_relay import SIGNER_LIST, RecordChange, RecordRelay, RecordRelayed
from parley.store.kept_record import NO_RECORD, KeptRecord
from parley.summit.course import WARNINGS, Admission, Course, CourseError, Phase
from parley.summit.model import Role, Summit

# Devices waiting at once in a summit's lobby. A newly admitted host is told of each in one op,
# so the lobby must fit in a host's outbox (parley.server.room.OUTBOX_LIMIT) with room to spare.
MAX_LOBBY = 100

# What a device may offer to publish: a delegation's device its microphone and camera, an
# interpreter its voice. Anything else (a data channel, a second stream) has no place in the policy.
FLOOR_SECTIONS = {"audio": 1, "video": 1}
CHANNEL_SECTIONS = {"audio": 1}

# The ops the room sends of its own accord (the answers to requests are the connection's).
RoomOp = (
    AdmittedOp
    | CourseOp
    | ClockWarningOp
    | LobbyJoinedOp
    | LobbyLeftOp
    | RosterOp
    | BoothsOp
    | MediaResetOp
    | KeyframeOp
    | ErrorOp
    | IdentityOp
    | RecordOp
)


# -- effects ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Effect:
    """What the shell does for the core; each kind below says what."""


@dataclass(frozen=True)
class Send(Effect):
    to: int
    op: RoomOp


@dataclass(frozen=True)
class Close(Effect):
    """Queued after the device's last messages: its socket closes once they are sent."""

    to: int
    code: CloseCode
    reason: str


@dataclass(frozen=True)
class StopSending(Effect):
    """The device has left the room: send what is queued for it, then nothing more."""

    to: int


@dataclass(frozen=True)
class JoinGroup(Effect):
    user_id: int
    key: bytes


@dataclass(frozen=True)
class LeaveGroup(Effect):
    user_id: int


@dataclass(frozen=True)
class Publish(Effect):
    """Relay `feed`'s offer to Janus; into `language`'s channel muted unless `forward`."""

    feed: int
    display: str
    offer_sdp: str
    language: str | None
    forward: bool


@dataclass(frozen=True)
class Forward(Effect):
    language: str
    feed: int
    on: bool


@dataclass(frozen=True)
class DropMedia(Effect):
    user_id: int


@dataclass(frozen=True)
class Log(Effect):
    course: Course
    kind: str
    detail: dict[str, Any]


@dataclass(frozen=True)
class MarkRemoved(Effect):
    invitation_id: str
    removed: bool


@dataclass(frozen=True)
class RevokeLink(Effect):
    invitation_id: str


@dataclass(frozen=True)
class KeepDocument(Effect):
    keep: Keep


@dataclass(frozen=True)
class KeepRecord(Effect):
    """An entry, a grant or the record's state, committed to the store before the effects after it."""

    change: RecordChange


Effects = list[Effect]


class RoomPolicy:
    def __init__(
        self,
        summit: Summit,
        course: Course,
        *,
        removed: Iterable[str] = (),
        revoked: Iterable[str] = (),
        kept: Iterable[Keep] = (),
        record: KeptRecord = NO_RECORD,
    ) -> None:
        """`removed` and `revoked`: the summit's invitations so marked in the store when the room
        opens; from then on the core keeps both sets (and says what to record: MarkRemoved,
        RevokeLink). `kept`: the summit's identity documents in the store; `record`: its record."""
        self.summit = summit
        self.course = course
        self.removed: set[str] = set(removed)  # links whose devices wait for the host, flagged
        self.revoked: set[str] = set(revoked)  # links that admit no one
        self.devices: dict[int, Attendee] = {}  # admitted: in the call
        self.lobby: dict[int, Attendee] = {}  # waiting: no keys, no media
        # Past `enter`, not yet placed (the shell opens the media room meanwhile): counted as
        # present, so that two devices arriving on one link together cannot both come in.
        self.entering: dict[int, tuple[Attendee, bool]] = {}
        # Certified summits: present, not certified yet (and whether it then goes straight in).
        self.enrolling: dict[int, tuple[Attendee, bool]] = {}
        kept = list(kept)
        self.identity = IdentityRelay(summit, kept)
        signer_lists = tuple(k.text for k in kept if k.kind == SIGNER_LIST)
        self.record = RecordRelay(summit, replace(record, signer_lists=signer_lists))
        self.publishing: set[int] = set()  # devices whose media is up at Janus
        self.booths = {language: Booth(language) for language in summit.languages}
        self.forwarded: dict[str, int | None] = {}  # per channel: the feed Janus was told to forward

    # -- arriving and leaving ----------------------------------------------------------------------

    def may_enter(self, device: Attendee) -> CourseError | None:
        """Whether this device may come in now; `enter` asks, and nothing else decides it.

        The course must allow its role; its invitation must not already have as many devices
        present (lobby, call, or entering) as it allows; and a device that would wait must find
        room in the lobby.
        """
        closed = self._closed_to(device)
        if closed is not None:
            return closed
        present = {
            **self.devices,
            **self.lobby,
            **{u: a for u, (a, _) in self.entering.items()},
            **{u: a for u, (a, _) in self.enrolling.items()},
        }
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

    def _closed_to(self, device: Attendee) -> CourseError | None:
        """The summit's door is shut to this device: its link, the phase, or the lock."""
        if device.invitation_id in self.revoked:
            return CourseError(ErrorCode.INVITATION_REVOKED, "this invitation was withdrawn")
        if self.course.phase is Phase.ENDED:
            return CourseError(ErrorCode.SUMMIT_ENDED, "this summit has ended")
        if device.role is Role.PRESS and not self.course.press_allowed():
            return CourseError(
                ErrorCode.OPENING_ENDED, "the opening has ended: the press is no longer admitted"
            )
        if self.course.locked and device.role is not Role.HOST:
            return CourseError(
                ErrorCode.SUMMIT_LOCKED, "the host has locked this summit: no one else may join"
            )
        return None

    def removed_earlier(self, device: Attendee) -> bool:
        """The host removed a device of this one's link and has not admitted one since."""
        return device.invitation_id in self.removed

    def _straight_in(self, device: Attendee) -> bool:
        return not self.removed_earlier(device) and (
            device.role is Role.HOST or self.course.admission is Admission.OPEN
        )

    def enter(self, device: Attendee) -> bool:
        """A device identified: raise the CourseError of `may_enter`, or count it as entering and
        say whether it goes straight into the call (the host; everyone, with open admission) or
        waits in the lobby (the others, and every device of a link the host removed a device of).
        The shell opens the media room for one that goes straight in, then calls `place`."""
        refusal = self.may_enter(device)
        if refusal is not None:
            raise refusal
        straight_in = self._straight_in(device)
        self.entering[device.user_id] = (device, straight_in)
        return straight_in

    def abandon(self, user_id: int) -> None:
        """An entering device will not be placed (the media room could not be opened)."""
        self.entering.pop(user_id, None)

    def place(self, user_id: int, now: datetime, certificate: str | None = None) -> Effects:
        """Into the call or the lobby, as `enter` said, or (a certified summit, and no good
        certificate for it) enrolling. `certificate`: the one it presented, relayed to everyone
        if good, else refused with an `error` naming `identify` (it enrolls again). Raises the
        CourseError of a door shut while it was entering (the summit ended, the press was cut,
        its link revoked)."""
        device, straight_in = self.entering.pop(user_id)
        closed = self._closed_to(device)
        if closed is not None:
            raise closed
        effects = self._documents_for(user_id)
        if certificate is not None:
            try:
                effects += self._relayed(
                    self.identity.present(device, certificate, now.timestamp(), self._present_ids())
                )
            except PolicyError as e:
                effects.append(
                    Send(user_id, ErrorOp(d=ErrorData(code=e.code, message=str(e), op="identify")))
                )
        if not self.identity.certified(device, now.timestamp()):
            self.enrolling[user_id] = (device, straight_in)
            return effects
        return effects + self._go_in(device, straight_in)

    def _go_in(self, device: Attendee, straight_in: bool) -> Effects:
        user_id = device.user_id
        if straight_in:
            effects = self._admit(device)
        else:
            self.lobby[user_id] = device
            effects = self._lobby_joined(device)
        # A device that comes in after a warning was given still learns how close the end is.
        if self.course.warned:
            effects.append(Send(user_id, _clock_warning(min(self.course.warned))))
        return effects

    def _admit(self, device: Attendee) -> Effects:
        """Into the call: the roster tells everyone, DAVE starts for it, it may publish now."""
        waited = self.lobby.pop(device.user_id, None)
        self.devices[device.user_id] = device
        if device.language is not None:
            self.booths[device.language] = self.booths[device.language].join(device.user_id)
        effects: Effects = [Send(device.user_id, AdmittedOp()), *self._roster()]
        if waited is not None:
            effects += self._lobby_left(waited)
        effects += self._show_lobby(device)
        effects.append(JoinGroup(device.user_id, device.key))
        if device.user_id in self._readers():
            effects += [Send(device.user_id, op) for op in self.record.on_admission(device)]
            effects += self._record_state()  # to everyone reading: one more reader to grant the key
        return effects

    def depart(self, user_id: int) -> Effects:
        """The device is gone (left, disconnected, dismissed): out of the lobby, or out of the
        call (DAVE removes it, Janus drops it, its booth's turn ends if it was live)."""
        self.identity.depart(user_id)
        self.record.depart(user_id)
        if self.enrolling.pop(user_id, None) is not None:
            return [StopSending(user_id)]
        if (waiting := self.lobby.pop(user_id, None)) is not None:
            return [StopSending(user_id), *self._lobby_left(waiting)]
        device = self.devices.pop(user_id, None)
        if device is None:
            return []
        self.publishing.discard(user_id)
        effects: Effects = [LeaveGroup(user_id)]
        if device.language is not None:
            self.booths[device.language] = self.booths[device.language].leave(user_id)
        effects += [*self._roster(), StopSending(user_id), DropMedia(user_id)]
        if device.language is not None:
            effects += self._forward(device.language)
        return effects

    def _dismiss(self, device: Attendee, code: ErrorCode, message: str, close: CloseCode) -> Effects:
        """End a device's stay: tell it why, close its socket, take it out of DAVE and Janus."""
        told = ErrorOp(d=ErrorData(code=code, message=message, op=None))
        return [
            Send(device.user_id, told),
            Close(device.user_id, close, str(code)),
            *self.depart(device.user_id),
        ]

    def expel(self, user_id: int, unusable_commits: int) -> Effects:
        """The gateway removed a device whose commits the others could not use: say why, keep a record."""
        device = self.devices.get(user_id)
        if device is None:
            return []
        n = unusable_commits
        detail = {"user_id": user_id, "reason": "unusable_commits", "commits": n}
        message = f"the other members could not use {n} of this device's commits: it is removed"
        dismissal = self._dismiss(device, ErrorCode.UNUSABLE_COMMITS, message, CloseCode.UNUSABLE_COMMITS)
        return [Log(self.course, "expelled", detail), *dismissal]

    @property
    def empty(self) -> bool:
        """No device present: none in the call, the lobby, or waiting for its certificate (an
        officer console may wait so, and must outlive a call that empties)."""
        return not self.devices and not self.lobby and not self.enrolling

    # -- admission by the host, or a delegation's head ---------------------------------------------

    def _may_admit(self, by: Attendee, waiting: Attendee) -> bool:
        """The host; or its delegation's head, unless the host removed a device of its link."""
        if by.role is Role.HOST:
            return True
        return (
            not self.removed_earlier(waiting)
            and self.course.admission is Admission.DELEGATION_HEAD
            and by.role is Role.PRINCIPAL
            and by.delegation.delegation_id == waiting.delegation.delegation_id
        )

    def can_admit(self, device: Attendee) -> bool:
        return device.role is Role.HOST or (
            self.course.admission is Admission.DELEGATION_HEAD and device.role is Role.PRINCIPAL
        )

    def _in_call(self, by: Attendee) -> None:
        """Controls are for devices in the call: one waiting in the lobby (a removed host among
        them) cannot admit itself or anyone else."""
        if by.user_id not in self.devices:
            raise CourseError(ErrorCode.NOT_ADMITTED, "wait until the host admits this device")

    def _waiting(self, by: Attendee, user_id: int) -> Attendee:
        self._in_call(by)
        waiting = self.lobby.get(user_id)
        if waiting is None:
            raise CourseError(ErrorCode.NOT_WAITING, f"device {user_id} is not waiting in the lobby")
        if not self._may_admit(by, waiting):
            raise CourseError(
                ErrorCode.FORBIDDEN, "only the host, or its own delegation's head, admits a device"
            )
        return waiting

    def _host(self, by: Attendee, what: str) -> None:
        if by.role is not Role.HOST:
            raise CourseError(ErrorCode.FORBIDDEN, f"only the host may {what}")
        self._in_call(by)

    def _present(self, by: Attendee, user_id: int) -> Attendee:
        """Another device of this summit, in the call or in the lobby."""
        device = self.devices.get(user_id) or self.lobby.get(user_id) or self._enrolling(user_id)
        if device is None or device.user_id == by.user_id:
            raise CourseError(ErrorCode.NO_SUCH_DEVICE, f"device {user_id} is not in this summit")
        return device

    def admit(self, by: Attendee, user_id: int) -> Effects:
        """Into the call; admitting a device whose link was removed lifts that removal. The shell
        has the media room open (`by` is in the call, so it is)."""
        waiting = self._waiting(by, user_id)
        detail: dict[str, Any] = {"user_id": user_id, "by": by.user_id}
        effects: Effects = []
        if self.removed_earlier(waiting):
            self.removed.discard(waiting.invitation_id)
            effects.append(MarkRemoved(waiting.invitation_id, False))
            detail["removal_lifted"] = waiting.invitation_id
        return [*effects, Log(self.course, "admitted", detail), *self._admit(waiting)]

    def refuse(self, by: Attendee, user_id: int) -> Effects:
        waiting = self._waiting(by, user_id)
        logged = Log(self.course, "refused", {"user_id": user_id, "by": by.user_id})
        message = "the host did not admit this device"
        return [logged, *self._dismiss(waiting, ErrorCode.ADMISSION_REFUSED, message, CloseCode.REFUSED)]

    def remove(self, by: Attendee, user_id: int) -> Effects:
        """Out of the call (MLS removal, Janus handles dropped); and its link's next devices wait
        in the lobby, flagged, until the host admits one (the mark is kept in the store)."""
        self._host(by, "remove a device")
        device = self._present(by, user_id)
        link = device.invitation_id
        self.removed.add(link)
        detail = {"user_id": user_id, "by": by.user_id, "invitation_id": link}
        message = "the host removed this device from the summit"
        dismissal = self._dismiss(device, ErrorCode.REMOVED, message, CloseCode.REMOVED)
        return [MarkRemoved(link, True), Log(self.course, "removed", detail), *dismissal]

    def revoke(self, by: Attendee, user_id: int) -> Effects:
        """The host revokes the link this device joined with: see `revoked_link`."""
        self._host(by, "revoke a link")
        link = self._present(by, user_id).invitation_id
        effects, _ = self.revoked_link(link, by.user_id)
        return [RevokeLink(link), *effects]

    def revoked_link(self, invitation_id: str, by: int | str) -> tuple[Effects, int]:
        """The link is revoked (the organiser's is in the store already): every device that came
        with it leaves at once, from the call and from the lobby, and none is let in again
        (may_enter). Returns the effects and how many devices leave."""
        self.revoked.add(invitation_id)
        self.removed.discard(invitation_id)
        effects: Effects = [Log(self.course, "revoked", {"invitation_id": invitation_id, "by": by})]
        leaving = [d for d in self._everyone() if d.invitation_id == invitation_id]
        for device in leaving:
            message = "this invitation was withdrawn"
            effects += self._dismiss(device, ErrorCode.INVITATION_REVOKED, message, CloseCode.REFUSED)
        return effects, len(leaving)

    # -- the course -------------------------------------------------------------------------------

    def lock(self, by: Attendee, locked: bool, now: datetime) -> Effects:
        self._host(by, "lock the summit")
        return self._change(
            self.course.lock(locked), "locked" if locked else "unlocked", {"by": by.user_id}, now
        )

    def allow_overrun(self, by: Attendee, now: datetime) -> Effects:
        self._host(by, "let the summit run over")
        return self._change(self.course.allow_overrun(), "overrun_allowed", {"by": by.user_id}, now)

    def advance(self, by: Attendee, to: Phase, now: datetime) -> Effects:
        self._host(by, "change the phase")
        return self._change(self.course.advance(to), "phase", {"phase": to.value, "by": by.user_id}, now)

    def tick(self, now: datetime) -> Effects:
        """The time is `now`: the warnings due (10 and 2 minutes before the end, the nearest one
        alone when several are), then the end, unless the host let the summit run over."""
        course, due = self.course.due_warnings(now)
        self.course = course
        effects = self._to_everyone(_clock_warning(due[-1])) if due else []
        if min(WARNINGS) in due:  # the last minutes: the signers seal the record
            effects += self._record_changed(self.record.end())
        if course.ends_now(now):
            ended = replace(course, phase=Phase.ENDED)
            effects += self._change(ended, "phase", {"phase": "ended", "by": "clock"}, now)
        return effects

    def clock_deadline(self) -> datetime | None:
        """When the shell next calls `tick`: the next warning or the end (None: nothing to come)."""
        return self.course.next_deadline()

    def _change(self, course: Course, kind: str, detail: dict[str, Any], now: datetime) -> Effects:
        """A new course: log it, tell everyone, then act on what it means (the press cut when the
        opening ends, everyone out when the summit ends)."""
        before, self.course = self.course, course
        effects: Effects = [Log(course, kind, detail), *self._to_everyone(CourseOp(d=self.course_info(now)))]
        if before.press_allowed() and not course.press_allowed():
            effects += self._cut_press()
        if course.phase is Phase.ENDED:
            effects += self._record_changed(self.record.end())
            for device in self._everyone():
                message = "the summit has ended"
                effects += self._dismiss(device, ErrorCode.SUMMIT_ENDED, message, CloseCode.SUMMIT_ENDED)
        return effects

    def _cut_press(self) -> Effects:
        """The opening ends: every press device leaves the DAVE group (the keys rotate for the
        others) and Janus, and its token no longer admits it (may_enter)."""
        effects: Effects = []
        for device in [d for d in self._everyone() if d.role is Role.PRESS]:
            message = "the opening has ended"
            effects += self._dismiss(device, ErrorCode.OPENING_ENDED, message, CloseCode.OPENING_ENDED)
        return effects

    def course_info(self, now: datetime) -> CourseInfo:
        c = self.course
        return CourseInfo(
            phase=c.phase,
            locked=c.locked,
            starts_at=c.starts_at.isoformat(),
            ends_at=c.ends_at.isoformat(),
            server_time=now.isoformat(),
            at_end=c.at_end,
            overrun=c.overrun,
            admission=c.admission,
        )

    # -- media ----------------------------------------------------------------------------------

    def publish(self, by: Attendee, offer_sdp: str, channel: str | None = None) -> Publish:
        """The offer to relay, to the floor or (an interpreter, audio only) into its language
        channel; raises the PolicyError of an offer the policy cannot map, before Janus sees it.
        An interpreter who is not live publishes muted, so no frame of it reaches a listener
        before it takes over."""
        if by.user_id not in self.devices:
            raise PolicyError(ErrorCode.NOT_ADMITTED, "wait until the host admits this device")
        if by.role is Role.PRESS:
            raise PolicyError(ErrorCode.FORBIDDEN, "press devices see and hear the floor; they never publish")
        _check_publish(self.summit.languages, by, channel, offer_sdp)
        display = f"{by.delegation.name}: {', '.join(by.people)}"
        if by.language is None:
            return Publish(by.user_id, display, offer_sdp, None, forward=True)
        live = self.booths[by.language].forwarding() == by.user_id
        if live:
            self.forwarded[by.language] = by.user_id
        elif self.forwarded.get(by.language) == by.user_id:
            self.forwarded[by.language] = None
        return Publish(by.user_id, display, offer_sdp, by.language, forward=live)

    def published(self, user_id: int) -> Effects:
        """Its media is up at Janus: others may subscribe to it now."""
        if user_id not in self.devices or user_id in self.publishing:
            return []
        self.publishing.add(user_id)
        return self._roster()

    def subscribe(self, by: Attendee, feed: int) -> None:
        """Raise the PolicyError that forbids `by` to receive `feed`."""
        if by.user_id not in self.devices:
            raise PolicyError(ErrorCode.NOT_ADMITTED, "wait until the host admits this device")
        source = self.devices.get(feed)
        if source is None or feed not in self.publishing or feed == by.user_id:
            raise PolicyError(ErrorCode.NO_SUCH_FEED, f"device {feed} is not publishing in this summit")
        if by.role is Role.PRESS and source.role is Role.PRESS:
            raise PolicyError(ErrorCode.FORBIDDEN, "the press hears the floor only")

    def subscribed(self, subscriber: int, feed: int) -> Effects:
        """A subscription is up at Janus: its publisher is asked for a keyframe (`KeyframeOp`), if
        both are still here (either may have left while the subscription came up)."""
        if subscriber not in self.devices or feed not in self.devices:
            return []
        return [Send(feed, KeyframeOp(d=KeyframeData(subscriber=subscriber)))]

    def media_reset(self) -> Effects:
        """Janus restarted (the shell has reopened the room): nothing is published or forwarded
        any more; devices publish again, each muted or not as it does."""
        self.publishing.clear()
        self.forwarded.clear()
        reset = MediaResetOp(d=MediaResetData(reason="the media server restarted"))
        return [*self._to(self.devices, reset), *self._roster()]

    # -- interpretation -------------------------------------------------------------------------

    def _booth_of(self, device: Attendee) -> str:
        if device.language is None:
            raise BoothError(ErrorCode.FORBIDDEN, "only interpreters work in a booth")
        return device.language

    def take_over(self, by: Attendee) -> Effects:
        language = self._booth_of(by)
        booth = self.booths[language].take_over(by.user_id, by.user_id in self.publishing)
        return self._booth_change(language, booth, "booth_live")

    def hand_over(self, by: Attendee) -> Effects:
        language = self._booth_of(by)
        return self._booth_change(language, self.booths[language].hand_over(by.user_id), "booth_hand_over")

    def cough(self, by: Attendee, muted: bool) -> Effects:
        language = self._booth_of(by)
        return self._booth_change(language, self.booths[language].cough(by.user_id, muted), None)

    def _booth_change(self, language: str, booth: Booth, kind: str | None) -> Effects:
        """Take the new booth, make Janus forward what it says, tell everyone, log turns."""
        self.booths[language] = booth
        effects = [*self._forward(language), *self._booths()]
        if kind is not None:  # the summit's log keeps who interpreted when; coughs are not records
            effects.append(Log(self.course, kind, {"language": language, "user_id": booth.live}))
        return effects

    def _forward(self, language: str) -> Effects:
        """Bring Janus in line with the booth: forward its live voice only, the outgoing voice
        muted before the incoming one is let through: never two voices."""
        target = self.booths[language].forwarding()
        current = self.forwarded.get(language)
        if target == current:
            return []
        self.forwarded[language] = target
        effects: Effects = [] if current is None else [Forward(language, current, False)]
        return effects if target is None else [*effects, Forward(language, target, True)]

    def forward_failed(self, failed: Forward | Publish) -> None:
        """Janus did not confirm a change of what it forwards: a voice it was to mute may still
        be heard, one it was to let through is not. The shell performs no later unmute of that
        channel in the same batch; the next booth change tries again from here."""
        if isinstance(failed, Publish):
            if failed.language is not None and failed.forward:
                self.forwarded[failed.language] = None
        else:
            self.forwarded[failed.language] = None if failed.on else failed.feed

    # -- delegation-certified identities (parley.server.identity_relay) ----------------------------

    def enroll(self, by: Attendee, request: str) -> Effects:
        return self._sends(self.identity.enroll(by, request))

    def officer(self, by: Attendee, key: str, proof: str) -> Effects:
        return self._sends(self.identity.officer(by, key, proof))

    def approve(self, by: Attendee, certificate: str, now: datetime) -> Effects:
        """An officer's certificate: relayed to everyone; a device enrolling with it goes in."""
        present = {d.user_id: d for d in self._everyone()}
        device, relay = self.identity.approve(by, certificate, present, now.timestamp(), present)
        effects = self._relayed(relay)
        waiting = self.enrolling.get(device.user_id)
        if waiting is None:
            return effects
        effects.append(Log(self.course, "certified", {"user_id": device.user_id, "by": by.user_id}))
        # The door shut while it waited: the host locked the summit (the press cut, the end and a
        # revoked link dismiss a waiting device at once).
        closed = self._closed_to(device)
        if closed is not None:
            return effects + self._dismiss(device, closed.code, str(closed), CloseCode.REFUSED)
        del self.enrolling[device.user_id]
        return effects + self._go_in(*waiting)

    def decline(self, by: Attendee, user_id: int) -> Effects:
        """An officer does not certify a device waiting for its certificate: its stay ends."""
        device = self._enrolling(user_id)
        if device is None:
            raise PolicyError(ErrorCode.NO_SUCH_DEVICE, f"device {user_id} is not waiting for a certificate")
        self.identity.may_decline(by, device)
        message = "its delegation's security officer declined to certify this device"
        return [
            Log(self.course, "enrollment_declined", {"user_id": user_id, "by": by.user_id}),
            *self._dismiss(device, ErrorCode.ENROLLMENT_DECLINED, message, CloseCode.REFUSED),
        ]

    def revocations(self, by: Attendee, revocations: str) -> Effects:
        """An officer's revocation list: relayed to everyone; each device it revokes leaves."""
        effects = self._relayed(self.identity.revoke(by, revocations, self._present_ids()))
        for device in self.identity.revoked(self._everyone()):
            detail = {"user_id": device.user_id, "by": by.user_id}
            message = "its delegation revoked this device's certificate"
            effects += [
                Log(self.course, "certificate_revoked", detail),
                *self._dismiss(device, ErrorCode.CERTIFICATE_REVOKED, message, CloseCode.CERTIFICATE_REVOKED),
            ]
        return effects

    def pins(self, by: Attendee, pin_set: str) -> Effects:
        """An officer's pin set, for its own delegation's devices."""
        own = [d.user_id for d in self._everyone() if d.delegation == by.delegation]
        return self._relayed(self.identity.publish_pins(by, pin_set, own))

    def attest(self, by: Attendee, attestation: str, now: float) -> Effects:
        """`now`: the shell's monotonic clock (attestations are rate-limited per device)."""
        self._in_call(by)
        return self._sends(self.identity.attest(by, attestation, self.devices, now))

    # -- the record (parley.server.record_relay) ---------------------------------------------------

    def _readers(self) -> dict[int, Attendee]:
        """The devices the record goes to: certified, in the call, not press."""
        certificates = self.identity.certificates
        return {u: d for u, d in self.devices.items() if self.record.is_reader(d, certificates.get(u))}

    def _certificate(self, by: Attendee) -> DeviceCertificate | None:
        self._in_call(by)
        return self.identity.certificates.get(by.user_id)

    def _record_state(self) -> Effects:
        readers = self._readers()
        issuers = [c.issuer for c in self.identity.certificates.values()]
        return self._to(readers, self.record.state_op(readers, issuers))

    def _record_changed(self, state: RecordState | None) -> Effects:
        if state is None:
            return []
        return [KeepRecord(RecordChange(state=state)), *self._record_state()]

    def _record_relayed(self, relayed: RecordRelayed) -> Effects:
        change = relayed.keep
        effects: Effects = [KeepRecord(change)] if change != RecordChange() else []
        effects += [Send(to, op) for to, op in relayed.deliveries]
        if change.state is not None or change.grant is not None:
            effects += self._record_state()
        return effects

    def record_append(self, by: Attendee, entry: str, ciphertext: str, now: float) -> Effects:
        """`now`: the shell's monotonic clock (entries are rate-limited per device)."""
        certificate = self._certificate(by)
        relayed = self.record.append(by, certificate, entry, ciphertext, self._readers(), now)
        return self._record_relayed(relayed)

    def record_read(self, by: Attendee, from_seq: int) -> RecordEntriesOp:
        return self.record.read(by, self._certificate(by), from_seq)

    def record_grant(self, by: Attendee, grant: str) -> Effects:
        certificate = self._certificate(by)
        return self._record_relayed(self.record.grant(by, certificate, grant, self._readers()))

    def record_head(self, by: Attendee, head: str, now: float) -> Effects:
        """`now`: the shell's monotonic clock (heads are rate-limited per device)."""
        self._certificate(by)
        return [Send(to, op) for to, op in self.record.head(by, head, self._readers(), now)]

    def record_close(self, by: Attendee) -> Effects:
        state = self.record.close(by)
        return [Log(self.course, "record_closed", {"by": by.user_id}), *self._record_changed(state)]

    def signers(self, by: Attendee, signer_list: str) -> Effects:
        is_officer = by.user_id in self.identity.officers
        relayed = self.record.signers(by, is_officer, signer_list, self._readers())
        keep = Keep(SIGNER_LIST, by.delegation.delegation_id, signer_list)
        return [KeepDocument(keep), *self._record_relayed(relayed)]

    def _documents_for(self, user_id: int) -> Effects:
        """What a device arriving is given: every revocation list, and every certificate of a
        device present."""
        ops: list[IdentityOp] = [
            *self.identity.revocation_lists(),
            *self.identity.certificates_of(self._present_ids()),
        ]
        return [Send(user_id, op) for op in ops]

    def _relayed(self, relay: Relay) -> Effects:
        return [*(KeepDocument(keep) for keep in relay.keep), *self._sends(relay.deliveries)]

    @staticmethod
    def _sends(deliveries: list[tuple[int, IdentityOp]]) -> Effects:
        return [Send(to, op) for to, op in deliveries]

    def _enrolling(self, user_id: int) -> Attendee | None:
        waiting = self.enrolling.get(user_id)
        return waiting[0] if waiting else None

    def _everyone(self) -> list[Attendee]:
        """Every device present: in the call, in the lobby, enrolling."""
        return [*self.devices.values(), *self.lobby.values(), *(d for d, _ in self.enrolling.values())]

    def _present_ids(self) -> list[int]:
        return [d.user_id for d in self._everyone()]

    # -- what devices are told ------------------------------------------------------------------

    def roster(self) -> list[DeviceInfo]:
        return [d.info(d.user_id in self.publishing) for d in self.devices.values()]

    def _roster(self) -> Effects:
        """The roster to everyone in the call, and the booths (who is in which changes with it)."""
        return [*self._to(self.devices, RosterOp(d=RosterData(devices=self.roster()))), *self._booths()]

    def _booths(self) -> Effects:
        if not self.booths:
            return []
        booths = BoothsData(booths=[b.info() for b in self.booths.values()])
        return self._to(self.devices, BoothsOp(d=booths))

    def _to_everyone(self, op: RoomOp) -> Effects:
        return [Send(d.user_id, op) for d in self._everyone()]

    @staticmethod
    def _to(devices: dict[int, Attendee], op: RoomOp) -> Effects:
        return [Send(user_id, op) for user_id in devices]

    def _admitters_of(self, waiting: Attendee) -> list[Attendee]:
        return [
            d for d in self.devices.values() if d.user_id != waiting.user_id and self._may_admit(d, waiting)
        ]

    def _lobby_joined(self, waiting: Attendee) -> Effects:
        """Each device that may admit this one hears of it alone: one op per device, never the
        whole lobby again, so what one arrival costs the host is bounded."""
        op = self._lobby_joined_op(waiting)
        return [Send(d.user_id, op) for d in self._admitters_of(waiting)]

    def _lobby_left(self, waiting: Attendee) -> Effects:
        op = LobbyLeftOp(d=LobbyLeftData(user_id=waiting.user_id))
        return [Send(d.user_id, op) for d in self._admitters_of(waiting)]

    def _show_lobby(self, device: Attendee) -> Effects:
        """A device just admitted that may admit others learns who waits, one op each."""
        return [
            Send(device.user_id, self._lobby_joined_op(waiting))
            for waiting in self.lobby.values()
            if self._may_admit(device, waiting)
        ]

    def _lobby_joined_op(self, waiting: Attendee) -> LobbyJoinedOp:
        info = waiting.info()
        shown = LobbyDevice(**dict(info), removed_earlier=self.removed_earlier(waiting))
        return LobbyJoinedOp(d=LobbyJoinedData(device=shown))


def _clock_warning(minutes_left: int) -> ClockWarningOp:
    return ClockWarningOp(d=ClockWarningData(minutes_left=minutes_left))


def _check_publish(languages: tuple[str, ...], device: Attendee, channel: str | None, offer_sdp: str) -> None:
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
