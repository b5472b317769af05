"""A Parley device in Python: joins a summit with an invite link, publishes and receives
end-to-end encrypted audio and video.

Three layers, each its own object: the signalling WebSocket (this class), the DAVE member
(`DaveMember`: keys, codes), and aiortc peer connections whose encoded frames pass through the
member (`parley.media.frame_transform`). The server relays SDP to Janus; Janus forwards frames it
cannot read. Every frame leaving this client is encrypted before packetization; every frame
arriving is decrypted (or dropped) before decoding.

Everything on the socket is a model of parley.protocol: the client sends device ops and reads
each text frame into a server op at the edge (a frame it cannot read is dropped and counted in
`unreadable`, never guessed at); its state (`device`, `summit`, `roster`, `course`, `lobby`,
`booths`, `errors`, `ended`) holds those models. Each request carries an id and waits for its own
answer (parley.sdk.requests): `publish`, the host controls and the interpreter's keys return once
the server has done what they ask, or raise `RequestRefused` with the server's code, or
`RequestTimeout` after REQUEST_TIMEOUT.

The client repairs what the server asks it to: after `media_reset` (Janus restarted) it publishes
again and resubscribes to everyone, with the same DAVE keys.

Certified identities (docs/identity.md): a client given its own delegation's fingerprint (the
link's `&delegation=<30 digits>`, or `delegation=`) checks every member of every epoch against
the certificates its delegation's pins vouch for, attests each epoch it enters, and holds its
media until the epoch passes (`certified`: parley.sdk.certified). Without a certificate it
enrolls and shows `enrollment_code` until its officer approves; one given the delegation key
(`officer=`) is that officer's console (`console`: approve, revoke).

Interpretation: the device listens to the floor or one language channel (`listen`); it
subscribes to the floor feeds and to the booth of that channel, and `ear` is what it hears, the
channel over the ducked floor (`parley.interpretation.mixer`). An interpreter publishes audio only,
into its channel, through a cough gate, and works its booth with `take_over` / `hand_over` /
`cough`; its `listen` picks a relay channel (None: the floor).
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import itertools
import logging
import time
from collections import deque
from collections.abc import Callable, Coroutine, Hashable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

import dave
import numpy as np
import websockets
from aiortc import (
    MediaStreamTrack,
    RTCConfiguration,
    RTCIceServer,
    RTCPeerConnection,
    RTCSessionDescription,
)
from aiortc.contrib.media import MediaRelay
from aiortc.exceptions import InvalidStateError
from aiortc.mediastreams import MediaStreamError
from av import AudioFrame, VideoFrame

from parley.e2ee.tls import DecodeError
from parley.identity.certificate import DeviceCertificate
from parley.identity.delegation_key import DelegationKey
from parley.identity.fingerprint import Fingerprint
from parley.interpretation.mixer import Listening, Mixer, Resumption
from parley.media import ice_consent, stun_guard
from parley.media.frame_transform import (
    FrameStats,
    FrameTransform,
    SenderStats,
    attach_receiver_transform,
    attach_sender_transform,
    send_keyframe,
)
from parley.media.sources import samples_of
from parley.protocol.base import Model, ProtocolError
from parley.protocol.codes import ENDINGS, ErrorCode
from parley.protocol.dave_ops import DaveDeviceOp, DaveServerOp
from parley.protocol.device_ops import (
    Admit,
    Advance,
    AdvanceData,
    AllowOverrun,
    Attest,
    Cough,
    CoughData,
    DeviceOp,
    FeedData,
    HandOver,
    Heartbeat,
    HeartbeatData,
    Identify,
    IdentifyData,
    Leave,
    Lock,
    LockData,
    PhaseName,
    Publish,
    PublishData,
    RecordClose,
    Refuse,
    Remove,
    Revoke,
    Subscribe,
    SubscribeAnswer,
    SubscribeAnswerData,
    TakeOver,
    UserData,
)
from parley.protocol.errors import ParleyError
from parley.protocol.fields import b64url, key_proof_message, unb64url
from parley.protocol.server_ops import (
    AdmittedOp,
    BoothInfo,
    BoothsOp,
    ClockWarningOp,
    CourseInfo,
    CourseOp,
    DeviceInfo,
    ErrorData,
    ErrorOp,
    HeartbeatAckOp,
    IdentityOp,
    KeyframeOp,
    LobbyDevice,
    LobbyJoinedOp,
    LobbyLeftOp,
    MediaResetOp,
    OkOp,
    OwnDevice,
    ParleyServerOp,
    PublishAnswerOp,
    ReadyData,
    ReadyOp,
    RecordEntriesOp,
    RecordOp,
    RosterData,
    RosterOp,
    ServerOp,
    SubscribeOfferOp,
    SummitInfo,
    encode,
    parse_server_frame,
)
from parley.protocol.vocabulary import Role
from parley.sdk.audio import CoughGate, EarTrack
from parley.sdk.certified import CertifiedDevice
from parley.sdk.choices import ListeningChoices
from parley.sdk.enrollment import CertificateFile
from parley.sdk.identity import KEY_VERSION, load_or_create_signature_key, private_key, public_key, sign
from parley.sdk.key_memory import KeyMemory
from parley.sdk.member import DaveMember, Media
from parley.sdk.membership import Alarm, CallMembership, Member
from parley.sdk.officer import OfficerConsole, Waiting
from parley.sdk.record import RecordDesk
from parley.sdk.requests import REQUEST_TIMEOUT, Disconnected, RequestRefused, Requests, RequestTimeout

log = logging.getLogger(__name__)

KEEP_FRAMES = 30  # decoded frames kept per remote feed and kind, for callers to inspect
# s between the two keyframes a publisher sends when a subscription to it comes up: apart enough that
# one loss burst does not take both, close enough that the second still comes well within 2 s.
KEYFRAME_REPEAT = 0.3

Answer = TypeVar("Answer", bound=Model)
# The ops that answer requests: each settles the request its id names, if that one still waits.
_ANSWERS = (ReadyOp, PublishAnswerOp, SubscribeOfferOp, HeartbeatAckOp, OkOp, ErrorOp, RecordEntriesOp)


class _Default(enum.Enum):
    CHOICE = "the stored choice, else the summit's default for this device"


DEFAULT_CHOICE = _Default.CHOICE


class JoinError(RequestRefused):
    """The server refused to admit this device (its `identify`): the code and message say why
    (an expired link, a locked summit, ...)."""


@dataclass(frozen=True)
class InviteLink:
    base_url: str
    summit_id: str
    token: str
    delegation: Fingerprint | None = None  # the device's own delegation's key, when the link names it

    @classmethod
    def parse(cls, link: str) -> InviteLink:
        """https://host/join/<summit>#<token>, optionally followed by &delegation=<30 digits>."""
        parts = urlsplit(link)
        path = parts.path.rstrip("/").split("/")
        token, *extras = parts.fragment.split("&")
        if parts.scheme not in ("http", "https") or len(path) < 2 or path[-2] != "join" or not token:
            raise ValueError("an invite link looks like https://host/join/<summit>#<token>")
        delegation = None
        for extra in extras:
            name, _, value = extra.partition("=")
            if name != "delegation":
                raise ValueError(f"an invite link's fragment has no {name!r}: only &delegation=<fingerprint>")
            delegation = Fingerprint.parse(value)
        return cls(f"{parts.scheme}://{parts.netloc}", path[-1], token, delegation)

    @property
    def websocket_url(self) -> str:
        scheme = "wss" if self.base_url.startswith("https") else "ws"
        return f"{scheme}{self.base_url[self.base_url.index(':') :]}/api/summits/{self.summit_id}/ws"


@dataclass
class RemoteFeed:
    """What this client receives from one other device."""

    feed: int
    channel: str | None = None  # the language channel this feed speaks into; None: the floor
    pc: RTCPeerConnection | None = None
    video: deque[VideoFrame] = field(default_factory=lambda: deque(maxlen=KEEP_FRAMES))
    audio: deque[AudioFrame] = field(default_factory=lambda: deque(maxlen=KEEP_FRAMES * 5))
    video_frames: int = 0
    audio_frames: int = 0
    video_times: deque[float] = field(default_factory=lambda: deque(maxlen=KEEP_FRAMES * 20))
    audio_times: deque[float] = field(default_factory=lambda: deque(maxlen=KEEP_FRAMES * 5))
    resumption: Resumption = field(default_factory=Resumption)
    held: int = 0  # frames held back over a pause and dropped (see parley.interpretation.mixer)
    stats: dict[str, FrameStats] = field(default_factory=dict)
    readers: list[asyncio.Task[None]] = field(default_factory=list)


class ParleyClient:
    def __init__(
        self,
        link: str,
        people: list[str],
        *,
        audio: MediaStreamTrack | None = None,
        video: MediaStreamTrack | None = None,
        key_file: Path | None = None,
        on_event: Callable[[ParleyServerOp], None] | None = None,
        listen: str | _Default | None = DEFAULT_CHOICE,
        choices_file: Path | None = None,
        on_alarm: Callable[[str], None] | None = None,
        known_keys_file: Path | None = None,
        delegation: Fingerprint | None = None,
        officer: DelegationKey | None = None,
        officer_pins: Mapping[str, Fingerprint] | None = None,
        on_enrollment_request: Callable[[Waiting], None] | None = None,
    ) -> None:
        """`delegation`: this device's own delegation's fingerprint (else the link's), which puts
        it in certified mode; `officer`: the delegation key, making it that delegation's console
        (certified by itself; it publishes `officer_pins`, the fingerprints its officer pinned,
        and hands each enrollment request to `on_enrollment_request`)."""
        self.link = InviteLink.parse(link)
        if officer is not None and delegation not in (None, officer.fingerprint):
            raise ValueError("an officer console's delegation is the one its key signs for")
        self.delegation = officer.fingerprint if officer else delegation or self.link.delegation
        self._officer = officer
        self._officer_pins = officer_pins
        self.on_enrollment_request = on_enrollment_request
        self.certified: CertifiedDevice | None = None  # in certified mode, once `ready` placed it
        # The summit's record (a certified member of the call, not press), from its first record op.
        self.record: RecordDesk | None = None
        self._signature_key: dave.SignatureKeyPair | None = None
        self.certify_error: ParleyError | None = None  # why enrolling or announcing the console failed
        self.people = people
        self.audio_track = audio
        self.video_track = video
        self.key_file = key_file
        self.choices = ListeningChoices(choices_file) if choices_file else None
        self._listen: str | _Default | None = listen
        self.listening: str | None = None  # the channel this device hears (None: the floor)
        self.booths: dict[str, BoothInfo] = {}
        self.mixer = Mixer()
        self.ear = EarTrack(self.mixer, self._gains)
        self.gate: CoughGate | None = None
        self.on_event = on_event  # each event the server sends, once this client has taken it in
        self.on_alarm = on_alarm
        self.known_keys_file = known_keys_file  # where to remember the keys each link came with
        self.key_memory: KeyMemory | None = None
        self.new_keys: set[int] = set()  # devices on a link met before, with another key than then
        self.alarms: list[str] = []  # what this device found wrong with the call; see `membership`
        self.member: DaveMember | None = None
        self.membership: CallMembership | None = None
        self._hold = False  # someone in the key group is not accounted for, or not certified: send nothing
        self._proposal_alarms: set[str] = set()
        self._membership_changed = asyncio.Event()
        self._ready: ReadyData | None = None  # how the server placed this device (`ready`)
        self._course: CourseInfo | None = None
        self.roster: dict[int, DeviceInfo] = {}
        self.feeds: dict[int, RemoteFeed] = {}
        self.errors: list[ErrorData] = []  # the server's errors that answered no request waiting here
        self.lobby: list[LobbyDevice] = []  # who waits that this device may admit, in arrival order
        self.warnings: list[int] = []
        self.ended: ErrorData | None = None  # the error that ended this device's stay
        self.unreadable = 0  # text frames from the server that are no op this client reads: dropped
        self.admitted = asyncio.Event()
        self.publisher: RTCPeerConnection | None = None
        self.keyframes_sent = 0  # at the server's request (a subscription to this feed came up)
        self._keyframe_repeat: asyncio.TimerHandle | None = None
        self.publish_error: ParleyError | None = None  # why publishing on admission failed, if it did
        self.publish_stats: dict[str, SenderStats] = {}
        self._ws: websockets.ClientConnection | None = None
        self._requests = Requests()
        self.request_timeout = REQUEST_TIMEOUT  # s: how long each request waits for its answer
        self._tasks: set[asyncio.Task[None]] = set()
        self._closing: set[asyncio.Task[None]] = set()  # peer connections being closed
        self._relay = MediaRelay()
        stun_guard.install()  # before this device's first peer connection
        ice_consent.install()

    # -- how the server placed this device -------------------------------------------------------

    @property
    def device(self) -> OwnDevice:
        """This device as the server admitted it: user id, delegation, role, language..."""
        return self._placed().device

    @property
    def summit(self) -> SummitInfo:
        return self._placed().summit

    @property
    def course(self) -> CourseInfo:
        """The summit's course as the server last told it: phase, lock, clock."""
        return self._course or self._placed().course

    @property
    def user_id(self) -> int:
        return self.device.user_id

    def _placed(self) -> ReadyData:
        if self._ready is None:
            raise RuntimeError("the server has not placed this device yet: join() first")
        return self._ready

    # -- lifecycle ---------------------------------------------------------------------------

    async def join(self) -> None:
        """Connect, identify, and start publishing; returns once the server has placed this
        device, in the call or in its lobby (`admitted`). Raises JoinError with the server's code
        when it refuses the device, RequestTimeout when it does not answer."""
        key = (
            load_or_create_signature_key(self.key_file)
            if self.key_file
            else dave.SignatureKeyPair.generate(KEY_VERSION)
        )
        public = public_key(key)
        proof = sign(key, key_proof_message(self.link.token, public))
        certificates = CertificateFile(self.key_file) if self.key_file and self.delegation else None
        kept = certificates.load(self.link.summit_id) if certificates else None
        kept = kept if kept is not None and kept.claim.device_key == public else None
        # Checked here, before connecting: a name the server would refuse raises ValueError.
        identify = IdentifyData(
            token=self.link.token,
            people=self.people,
            key=b64url(public),
            proof=b64url(proof),
            certificate=kept.to_text() if kept else None,
        )
        self._ws = await websockets.connect(self.link.websocket_url, max_size=4 * 1024 * 1024)
        try:
            ready = await self._identify(Identify(id=self._requests.next_id(), d=identify))
        except BaseException:
            await self._ws.close()
            raise
        self._ready = ready
        # Times the path to the server (the connection's `latency`, which its keepalive pings keep up to
        # date): a video receiver waits for resends by it until resends time the media path itself.
        await self._ws.ping()
        self._signature_key = key
        self.listening = self._initial_channel()
        self.member = DaveMember(self.user_id, self.summit.channel_id, key, self._alarm)
        self.membership = CallMembership(self.user_id)
        if self.known_keys_file:
            self.key_memory = KeyMemory(self.known_keys_file, self.link.summit_id)
        if self.delegation is not None:
            self._certify(ready, key, public, kept, certificates)
        self._spawn(self._read(), "parley-read")
        if self.certified is not None:
            self._spawn(self._start_certified(self.certified.start(self)), "parley-certify")
        self._spawn(self._beat(ready.heartbeat_interval), "parley-heartbeat")
        self._spawn(self._watch_membership(), "parley-membership")
        if ready.admitted:
            self._on_admitted()

    async def _identify(self, identify: Identify) -> ReadyData:
        """Send identify and read its answer, the first frame. The reader does not run yet: what
        follows `ready` needs the DAVE member that `ready` lets this client make."""
        assert self._ws is not None
        await self._ws.send(encode(identify))
        try:
            frame = await asyncio.wait_for(self._ws.recv(), self.request_timeout)
        except TimeoutError:
            raise RequestTimeout(identify.op, self.request_timeout) from None
        first = parse_server_frame(frame) if isinstance(frame, str) else None
        if isinstance(first, ErrorOp):
            raise JoinError(identify.op, first.d)
        if not isinstance(first, ReadyOp) or first.id != identify.id:
            raise ProtocolError(ErrorCode.INVALID, "the server did not answer identify with ready")
        return first.d

    def _certify(
        self,
        ready: ReadyData,
        key: dave.SignatureKeyPair,
        public: bytes,
        kept: DeviceCertificate | None,
        certificates: CertificateFile | None,
    ) -> None:
        """Certified mode: the identity side, made from `ready`; the member vets joiners by it."""
        assert self.delegation is not None and self.member is not None
        console = None
        if self._officer is not None:
            console = OfficerConsole(
                self._officer,
                self.summit.summit_id,
                self.device.delegation,
                self._officer_pins,
                self.on_enrollment_request,
            )
        self.certified = CertifiedDevice(
            ready,
            public,
            lambda message: sign(key, message),
            self.delegation,
            kept=kept,
            certificate_file=certificates,
            officer=console,
            now=time.time(),
        )
        self.member.vet_add = self._vet_add
        self._membership_news(self.certified.news)

    def _vet_add(self, user_id: int, key: bytes) -> bool:
        """Whether to recognise a joiner the server proposes (certified mode): only a certified one."""
        assert self.certified is not None
        verdict = self.certified.certification.vet(user_id, key, time.time())
        if not verdict.certified and verdict.text not in self._proposal_alarms:
            self._proposal_alarms.add(verdict.text)
            self._alarm(f"the server proposes to add {verdict.text}; this device does not commit it")
        return verdict.certified

    @property
    def enrollment_code(self) -> str | None:
        """While this device waits for its certificate: the 20 digits its officer must see."""
        return self.certified.code if self.certified else None

    @property
    def console(self) -> OfficerConsole | None:
        """This device's officer console, when it was given the delegation key."""
        return self.certified.officer if self.certified else None

    async def approve(self, waiting: Waiting) -> DeviceCertificate:
        """An officer console: certify a device whose request it received (code compared)."""
        if self.console is None:
            raise RuntimeError("only an officer console approves: give the client officer=")
        return await self.console.approve(self, waiting)

    async def decline(self, waiting: Waiting) -> None:
        """An officer console: do not certify a device whose request it received; it leaves."""
        if self.console is None:
            raise RuntimeError("only an officer console declines: give the client officer=")
        await self.console.decline(self, waiting)

    async def revoke_certificates(self, serials: list[bytes]) -> None:
        """An officer console: revoke these certificates (and all revoked before) in the summit."""
        if self.console is None or self.certified is None:
            raise RuntimeError("only an officer console revokes: give the client officer=")
        sequence = self.certified.certification.revocations.sequence(self.console.key.public_key) + 1
        await self.console.revoke(self, serials, sequence)

    async def name_signers(self, serials: list[bytes]) -> None:
        """An officer console: the certificates (serials) that may sign the record for its
        delegation besides its principals. Numbered after the list held, or by the clock when
        this console holds none (a console started again must still number it after its last)."""
        if self.console is None:
            raise RuntimeError("only an officer console names signers: give the client officer=")
        held = self.record.rules.signer_lists.get(self.console.key.public_key) if self.record else None
        sequence = max(held.sequence + 1 if held else 1, int(time.time()))
        await self.console.name_signers(self, serials, sequence)

    async def _start_certified(self, work: Coroutine[Any, Any, None]) -> None:
        self.certify_error = None
        try:
            await work
        except (RequestRefused, RequestTimeout) as e:
            self.certify_error = e
            log.warning("could not enroll or announce the console: %s (%s)", e, e.code)
        except Disconnected:
            return

    async def wait_admitted(self, timeout: float = 30) -> None:
        """Until the host lets this device out of the lobby (or raise TimeoutError)."""
        await asyncio.wait_for(self.admitted.wait(), timeout)

    def _on_admitted(self) -> None:
        if self.admitted.is_set():  # `ready` said so already; `admitted` follows it
            return
        self.admitted.set()
        if self.device.role is not Role.PRESS:  # the press sees and hears; it never publishes
            self._spawn(self._publish_on_admission(), "parley-publish")

    async def _publish_on_admission(self) -> None:
        self.publish_error = None
        try:
            await self.publish()
        except (RequestRefused, RequestTimeout) as e:
            self.publish_error = e
            log.warning("could not publish: %s (%s)", e, e.code)
        except Disconnected:
            return

    # -- requests ------------------------------------------------------------------------------

    async def request(self, op: DeviceOp, answer: type[Answer]) -> Answer:
        """Send `op` as a request (under the next id) and return the server's answer to it, of
        type `answer` (`OkOp` for the ops that have none of their own). Raises RequestRefused
        with the server's code, RequestTimeout after `request_timeout`, or Disconnected.

        Never awaited on the task that reads the socket: that task delivers the answer."""
        if self._ws is None:
            raise RuntimeError("join() first: requests travel on the connection it opens")
        request, answered = self._requests.open(op.op)
        try:
            await self._send(op.model_copy(update={"id": request}))
            got = await asyncio.wait_for(answered, self.request_timeout)
        except TimeoutError:
            raise RequestTimeout(op.op, self.request_timeout) from None
        except websockets.ConnectionClosed:
            raise Disconnected(op.op, self.ended) from None
        finally:
            self._requests.forget(request)
        if isinstance(got, Disconnected):
            raise got
        if isinstance(got, ErrorOp):
            raise RequestRefused(op.op, got.d)
        if not isinstance(got, answer):
            raise ProtocolError(ErrorCode.INVALID, f"the server answered {op.op} with {got.op}")
        return got

    # -- host controls (the server refuses them from anyone else) ---------------------------

    async def admit(self, user_id: int) -> None:
        await self.request(Admit(d=UserData(user_id=user_id)), OkOp)

    async def refuse(self, user_id: int) -> None:
        await self.request(Refuse(d=UserData(user_id=user_id)), OkOp)

    async def remove(self, user_id: int) -> None:
        await self.request(Remove(d=UserData(user_id=user_id)), OkOp)

    async def revoke(self, user_id: int) -> None:
        """Revoke the link that device joined with: all its devices leave, and it admits no one."""
        await self.request(Revoke(d=UserData(user_id=user_id)), OkOp)

    async def lock(self, locked: bool) -> None:
        await self.request(Lock(d=LockData(locked=locked)), OkOp)

    async def advance(self, phase: PhaseName) -> None:
        await self.request(Advance(d=AdvanceData(phase=phase)), OkOp)

    async def close_record(self) -> None:
        """Host: the record takes only the signers' seals from now on."""
        await self.request(RecordClose(), OkOp)

    async def allow_overrun(self) -> None:
        await self.request(AllowOverrun(), OkOp)

    # -- interpretation ------------------------------------------------------------------------

    @property
    def interpreter(self) -> bool:
        return self._ready is not None and self.device.role is Role.INTERPRETER

    def _initial_channel(self) -> str | None:
        if not isinstance(self._listen, _Default):
            channel = self._listen
        else:
            stored, channel = self.choices.get(self.link.summit_id) if self.choices else (False, None)
            if not stored:
                channel = self.device.default_channel  # None for interpreters: the floor
        self._check_channel(channel)
        return channel

    def _check_channel(self, channel: str | None) -> None:
        if channel is not None and channel not in self.summit.languages:
            raise ValueError(f"this summit has no {channel!r} channel")
        if channel is not None and channel == self.device.language:
            raise ValueError("an interpreter relays another channel, never its own")

    async def listen(self, channel: str | None) -> None:
        """Hear `channel` (a language of the summit) over the ducked floor, or the floor (None).
        For an interpreter: relay from `channel` instead of the floor. Kept for this device.
        Returns once the feeds it newly needs are subscribed to (or refused)."""
        self._check_channel(channel)
        previous, self.listening = self.listening, channel
        if self.choices:
            self.choices.set(self.link.summit_id, channel)
        if previous is not None and previous != channel:
            self.mixer.forget(previous)
        await asyncio.gather(*self._follow_roster())

    def _gains(self) -> dict[Hashable, float]:
        """What the ear plays, by mixer source: floor feeds by user id, the channel by language."""
        if self._ready is None:
            return {}
        booth = self.booths.get(self.listening or "")
        listening = Listening(
            self.listening,
            relay=self.interpreter,
            ducking=self.summit.ducking,
            live=booth is not None and booth.live is not None,
        )
        floor = listening.floor_gain()
        gains: dict[Hashable, float] = {f.feed: floor for f in self.feeds.values() if f.channel is None}
        if self.listening is not None:
            gains[self.listening] = 1.0
        return gains

    async def take_over(self) -> None:
        """Go live in this interpreter's booth (refused with `booth_busy` until the live one hands over)."""
        await self.request(TakeOver(), OkOp)

    async def hand_over(self) -> None:
        await self.request(HandOver(), OkOp)

    async def cough(self, muted: bool) -> None:
        """The cough key: silence leaves this device at once; the server stops forwarding too."""
        if self.gate is not None:
            self.gate.muted = muted
        await self.request(Cough(d=CoughData(muted=muted)), OkOp)

    async def leave(self) -> None:
        if self._ws is not None:
            with contextlib.suppress(websockets.ConnectionClosed):
                await self._send(Leave())  # no answer: the server closes the connection
        await self.close()

    async def close(self) -> None:
        """Stop everything this client started: tasks, peer connections, the socket."""
        for task in list(self._tasks):
            task.cancel()
        for feed in list(self.feeds.values()):
            self._drop_feed(feed)
        if self.publisher:
            self._retire(self.publisher)
            self.publisher = None
        await asyncio.gather(*self._closing)
        if self._ws:
            await self._ws.close()
        self._requests.close(self.ended)

    def _spawn(self, work: Coroutine[Any, Any, None], name: str) -> asyncio.Task[None]:
        """Start a task this client owns: `close` cancels it if it still runs."""
        task = asyncio.create_task(work, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    # -- verification --------------------------------------------------------------------------

    def members(self) -> list[Member]:
        """Everyone in this device's key group or the server's roster, with what this device
        makes of each (in the call, joining, leaving, hidden, key changed)."""
        return self.membership.members(time.monotonic()) if self.membership else []

    @property
    def holding(self) -> bool:
        """Whether this device is sending nothing: its key group holds someone unexplained or (in
        certified mode) not certified, or the epoch is not attested by every member yet."""
        return self._hold

    def _alarm(self, text: str) -> None:
        self.alarms.append(text)
        log.warning("alarm: %s", text)
        if self.on_alarm:
            self.on_alarm(text)

    def _membership_news(self, alarms: list[Alarm], *, from_watch: bool = False) -> None:
        assert self.membership is not None
        uncertified = self.certified is not None and self.certified.certification.hold(time.time())
        self._hold = self.membership.hold(time.monotonic()) or uncertified
        for alarm in alarms:
            self._alarm(str(alarm))
        if not from_watch:
            self._membership_changed.set()  # the watch re-reads its deadline

    async def _watch_membership(self) -> None:
        """Statuses that change with time alone (a departure's grace, a joiner's bound)."""
        assert self.membership is not None
        while True:
            now, wall = time.monotonic(), time.time()
            waits = [] if (at := self.membership.deadline(now)) is None else [at - now]
            if self.certified is not None and (at := self.certified.certification.deadline(wall)) is not None:
                waits.append(at - wall)
            if self.record is not None and (at := self.record.deadline()) is not None:
                waits.append(at - wall)
            timeout = min(waits) + 0.05 if waits else None
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._membership_changed.wait(), timeout)
            self._membership_changed.clear()
            alarms = self.membership.tick(time.monotonic())
            if self.certified is not None:
                alarms += self.certified.certification.tick(time.time())
            if self.record is not None:
                self.record.tick(time.time())
            self._membership_news(alarms, from_watch=True)

    def group_code(self) -> str | None:
        return self.member.group_code() if self.member else None

    async def pairwise_code(self, user_id: int) -> str:
        assert self.member is not None
        return await self.member.pairwise_code(user_id)

    # -- signalling ----------------------------------------------------------------------------

    async def _send(self, op: DeviceOp) -> None:
        assert self._ws is not None
        await self._ws.send(encode(op))

    async def _send_raw(self, message: bytes | DaveDeviceOp) -> None:
        assert self._ws is not None
        await self._ws.send(message if isinstance(message, bytes) else encode(message))

    async def _beat(self, interval: float) -> None:
        for nonce in itertools.count():
            await asyncio.sleep(interval)
            try:
                await self.request(Heartbeat(d=HeartbeatData(nonce=nonce)), HeartbeatAckOp)
            except RequestTimeout as e:
                log.warning("%s", e)  # the server is slow, or gone: its idle timeout will tell
            except Disconnected:
                return

    async def _read(self) -> None:
        assert self._ws is not None
        try:
            async for frame in self._ws:
                try:
                    await self._handle(frame)
                except websockets.ConnectionClosed:
                    # The server closed while we answered: still read what it said before (its
                    # reason for closing comes just before the close).
                    continue
        except websockets.ConnectionClosed:
            pass
        finally:
            self._requests.close(self.ended)  # what still waits will not be answered

    async def _handle(self, frame: str | bytes) -> None:
        """One frame from the server: a DAVE binary op to the member; a text frame read into its
        op at once (or dropped and counted, when it is none this client knows), and an answer
        handed to the request it names."""
        if isinstance(frame, bytes):
            await self._on_dave(frame)
            return
        try:
            op = parse_server_frame(frame)
        except ProtocolError as e:
            self.unreadable += 1
            log.warning("dropped a frame from the server that is no op this client reads: %s", e)
            return
        if isinstance(op, _ANSWERS) and op.id is not None and self._requests.settle(op.id, op):
            return
        await self._on_op(op)

    async def _on_op(self, op: ServerOp) -> None:
        """An event, an error that answers no request waiting here, or a DAVE JSON op."""
        if isinstance(op, RosterOp):
            self._on_roster(op.d)
        elif isinstance(op, MediaResetOp):
            self._media_reset()
        elif isinstance(op, KeyframeOp):
            self._send_keyframe()
        elif isinstance(op, AdmittedOp):
            self._on_admitted()
        elif isinstance(op, CourseOp):
            self._course = op.d
        elif isinstance(op, ClockWarningOp):
            self.warnings.append(op.d.minutes_left)
        elif isinstance(op, LobbyJoinedOp):
            waiting = op.d.device
            self.lobby = [w for w in self.lobby if w.user_id != waiting.user_id] + [waiting]
        elif isinstance(op, LobbyLeftOp):
            self.lobby = [w for w in self.lobby if w.user_id != op.d.user_id]
        elif isinstance(op, BoothsOp):
            self.booths = {b.language: b for b in op.d.booths}
        elif isinstance(op, ErrorOp):
            self.errors.append(op.d)
            if op.d.code in ENDINGS:
                self.ended = op.d
            elif op.d.op == "identify" and self.certified is not None:  # the certificate it presented
                enroll = self.certified.enroll_again(self, op.d.message)
                self._spawn(self._start_certified(enroll), "parley-enroll")
        elif isinstance(op, IdentityOp):
            if self.certified is not None:  # else documents this device has no use for
                self._identity_news(self.certified.on_op(op, time.time()))
        elif isinstance(op, RecordOp):
            self._record_op(op)
        elif isinstance(op, _ANSWERS):  # to a request given up on (its timeout), or never made
            log.info("dropped %s: it answers no request waiting here", op.op)
            return
        else:
            await self._on_dave(op)
            return
        if self.on_event:
            self.on_event(op)

    async def _on_dave(self, op: bytes | DaveServerOp) -> None:
        assert self.member is not None
        before, entered = self.member.roster, self.member.entered
        try:
            replies = self.member.receive_wire(op)
        except DecodeError as e:
            self.unreadable += 1
            log.warning("dropped a DAVE frame from the server that does not decode: %s", e)
            return
        self._key_group_news(before)
        if self.certified is not None:
            self._identity_news(self.certified.key_group(self.member, entered, time.time()))
        for reply in replies:
            await self._send_raw(reply)

    def _key_group_news(self, before: dict[int, bytes]) -> None:
        """After a DAVE op: if the key group changed, hold it against the roster at once, before
        any frame is sealed under the new epoch's key."""
        assert self.member is not None and self.membership is not None
        after = self.member.roster
        if after != before:
            self._membership_news(self.membership.key_group(after, time.monotonic()))

    def _identity_news(self, alarms: list[Alarm]) -> None:
        """After the identity side took something in: alarms, hold, and the attestation of an
        epoch just entered (a welcomed device learns its epoch's number from an attestation)."""
        assert self.certified is not None
        self._membership_news(alarms)
        attestation = self.certified.attestation()
        if attestation is not None:
            self._spawn(self._attest(attestation), "parley-attest")

    async def _attest(self, attestation: Attest) -> None:
        try:
            await self.request(attestation, OkOp)
        except (RequestRefused, RequestTimeout) as e:
            log.warning("the server refused this device's attestation: %s (%s)", e, e.code)
        except Disconnected:
            return

    # -- the record --------------------------------------------------------------------------------

    def _record_op(self, op: RecordOp) -> None:
        desk = self.record or self._open_record()
        if desk is None:
            log.warning("dropped %s: this device is not a certified member of the call", op.op)
            return
        desk.on_op(op, time.time())
        self._membership_changed.set()  # the watch re-reads the record's deadline

    def record_copy(self) -> Path | None:
        """Where this device keeps its copy of the summit's record: beside its key file."""
        if self.key_file is None or self._ready is None:
            return None
        return self.key_file.with_name(f"{self.key_file.name}.record-{self.summit.summit_id}.json")

    def _open_record(self) -> RecordDesk | None:
        """The record desk, once this device is certified and trusts its delegation's pins."""
        certified, key, member = self.certified, self._signature_key, self.member
        if certified is None or key is None or member is None:
            return None
        own, pins = certified.enrollment.certificate, certified.certification.pins
        if own is None or pins is None:
            return None
        self.record = RecordDesk(
            client=self,
            spawn=self._spawn,
            summit_id=self.summit.summit_id,
            user_id=self.user_id,
            pins=pins.by_name,
            revocations=certified.certification.revocations,
            certificate=own,
            private_key=private_key(key),
            sign=lambda message: sign(key, message),
            epoch=lambda: member.epoch or 0,
            certificates=certified.certification.held,
            on_alarm=lambda alarm: self._alarm(f"record {alarm.kind}: {alarm}"),
            wake=self._membership_changed.set,
            copy=self.record_copy(),
        )
        return self.record

    def _on_roster(self, roster: RosterData) -> None:
        assert self.membership is not None
        self.roster = {dev.user_id: dev for dev in roster.devices}
        if self.certified is not None:
            self._membership_news(self.certified.roster(roster.devices, time.time()))
        announced = {u: unb64url(dev.key) for u, dev in self.roster.items()}
        if self.key_memory:
            memory = self.key_memory
            others = [dev for u, dev in self.roster.items() if u != self.user_id]
            self.new_keys = {dev.user_id for dev in others if memory.is_new_key(dev.link, dev.key)}
        self._membership_news(self.membership.roster(announced, time.monotonic()))
        self._follow_roster()

    # -- media ---------------------------------------------------------------------------------

    def _peer_connection(self) -> RTCPeerConnection:
        """ICE servers come from the server (its configured STUN/TURN), never aiortc's default."""
        servers = [
            RTCIceServer(urls=s.urls, username=s.username, credential=s.credential)
            for s in self._placed().ice_servers
        ]
        return RTCPeerConnection(RTCConfiguration(iceServers=servers))

    async def publish(self) -> None:
        """Publish this device's tracks through one peer connection (an interpreter: its voice
        only, into its channel, through the cough gate); returns once Janus's answer is applied.
        Raises RequestRefused (`forbidden` for the press, `audio_only`, ...) or RequestTimeout.
        The client publishes by itself once admitted (`publish_error` says if that failed) and
        after a media reset; call this to publish again."""
        member = self.member
        assert member is not None
        channel = self.device.language
        video = None if channel else self.video_track
        tracks = [(t, m) for t, m in ((self.audio_track, Media.AUDIO), (video, Media.VIDEO)) if t is not None]
        if not tracks:
            return
        pc = self._peer_connection()
        previous, self.publisher = self.publisher, pc  # publishing again replaces the connection
        if previous is not None:
            self._retire(previous)
        for track, media in tracks:
            # Each publish gets a relay of the source: aiortc stops a sender's track when the
            # sender stops, and after a media reset the same camera must publish again.
            source = self._relay.subscribe(track, buffered=False)
            if channel and media is Media.AUDIO:
                muted = self.gate.muted if self.gate else False
                self.gate = CoughGate(source)
                self.gate.muted = muted
                source = self.gate
            sender = pc.addTrack(source)
            self.publish_stats[media.value] = attach_sender_transform(sender, self._sealer(member, media))
        await pc.setLocalDescription(await pc.createOffer())
        offer = PublishData(sdp=pc.localDescription.sdp, channel=channel)
        try:
            answer = await self.request(Publish(d=offer), PublishAnswerOp)
        except BaseException:
            if self.publisher is pc:
                self.publisher = None
            self._retire(pc)
            raise
        await pc.setRemoteDescription(RTCSessionDescription(answer.d.sdp, "answer"))

    def _wanted(self, dev: DeviceInfo) -> bool:
        """The floor (every publishing device but press, which never publishes) and the booth of
        the channel this device listens to; never itself."""
        if dev.user_id == self.user_id or not dev.publishing or dev.role is Role.PRESS:
            return False
        return dev.language is None or dev.language == self.listening

    def _follow_roster(self) -> list[asyncio.Task[None]]:
        """Subscribe to every feed this device hears or sees (the subscriptions started, each
        its own task); drop the others."""
        for feed_id, feed in list(self.feeds.items()):
            if feed_id not in self.roster or not self._wanted(self.roster[feed_id]):
                self._drop_feed(feed)
        started = []
        for user_id, dev in self.roster.items():
            if self._wanted(dev) and user_id not in self.feeds:
                feed = self.feeds[user_id] = RemoteFeed(user_id, dev.language)
                started.append(self._spawn(self._subscribe(feed), f"parley-subscribe-{user_id}"))
        return started

    async def _subscribe(self, feed: RemoteFeed) -> None:
        """Ask for the feed and take Janus's offer. A refused or unanswered subscription drops
        the feed: the next roster that shows it publishing asks again."""
        try:
            offer = await self.request(Subscribe(d=FeedData(feed=feed.feed)), SubscribeOfferOp)
            if self.feeds.get(feed.feed) is not feed:  # dropped while the offer was on its way
                return
            answer = await self._accept_offer(feed, offer.d.sdp)
            await self.request(SubscribeAnswer(d=SubscribeAnswerData(feed=feed.feed, sdp=answer)), OkOp)
        except (RequestRefused, RequestTimeout) as e:
            log.warning("no media from %d: %s (%s)", feed.feed, e, e.code)
            if self.feeds.get(feed.feed) is feed:
                self._drop_feed(feed)
        except Disconnected:
            return
        except InvalidStateError:
            if self.feeds.get(feed.feed) is feed:
                raise
            # Dropped (the device left) while its connection was being set up: closed under us.

    def _send_keyframe(self) -> None:
        """A subscription to this device's feed came up: its subscriber decodes from a keyframe. Two,
        `KEYFRAME_REPEAT` apart: Janus keeps nothing to resend to a new subscription until it has timed
        its round trip (a second or more after it starts), so a packet of the first keyframe lost on
        the way is lost for good, and asking again takes two round trips more. Subscriptions that come
        up together (a device joining) share them: the repeat still to come serves a new one too."""
        if self._keyframe_repeat is not None:
            self._keyframe_repeat.cancel()
        else:
            self._keyframes_now()
        self._keyframe_repeat = asyncio.get_running_loop().call_later(KEYFRAME_REPEAT, self._repeat_keyframe)

    def _repeat_keyframe(self) -> None:
        self._keyframe_repeat = None
        self._keyframes_now()

    def _keyframes_now(self) -> None:
        pc = self.publisher
        for sender in pc.getSenders() if pc is not None else ():
            if sender.kind == "video" and sender.track is not None:
                send_keyframe(sender)
                self.keyframes_sent += 1

    def _round_trip(self) -> float | None:
        """The signalling connection's last measured round trip (s); None before its first pong."""
        latency = self._ws.latency if self._ws is not None else 0.0
        return latency if latency > 0 else None

    async def _accept_offer(self, feed: RemoteFeed, sdp: str) -> str:
        """A peer connection for the feed, from Janus's offer; the answer to send back."""
        member = self.member
        assert member is not None
        if feed.pc is not None:
            self._retire(feed.pc)
        pc = self._peer_connection()
        feed.pc = pc

        @pc.on("track")
        def on_track(track: MediaStreamTrack) -> None:
            media = Media.VIDEO if track.kind == "video" else Media.AUDIO
            receiver = next(r for r in pc.getReceivers() if r.track is track)
            feed.stats[media.value] = attach_receiver_transform(
                receiver, _opener(member, feed.feed, media), round_trip=self._round_trip()
            )
            feed.readers.append(asyncio.ensure_future(self._consume(feed, track, media)))

        await pc.setRemoteDescription(RTCSessionDescription(sdp, "offer"))
        await pc.setLocalDescription(await pc.createAnswer())
        answer: str = pc.localDescription.sdp
        return answer

    async def _consume(self, feed: RemoteFeed, track: MediaStreamTrack, media: Media) -> None:
        try:
            while True:
                frame = await track.recv()
                if media is Media.VIDEO:
                    assert isinstance(frame, VideoFrame)
                    feed.video.append(frame)
                    feed.video_frames += 1
                    feed.video_times.append(time.monotonic())
                else:
                    assert isinstance(frame, AudioFrame)
                    now = time.monotonic()
                    if frame.pts is not None and not feed.resumption.fresh(frame.pts, frame.samples, now):
                        feed.held += 1  # the end of a turn long past: not what it says now
                        continue
                    feed.audio.append(frame)
                    feed.audio_frames += 1
                    feed.audio_times.append(now)
                    # The booth's feeds share one queue: one voice (parley.interpretation.mixer).
                    source = feed.channel if feed.channel is not None else feed.feed
                    self.mixer.push(source, samples_of([frame]).astype(np.float32))
        except MediaStreamError:
            return

    def _drop_feed(self, feed: RemoteFeed) -> None:
        self.feeds.pop(feed.feed, None)
        if feed.channel is None:
            self.mixer.forget(feed.feed)
        for reader in feed.readers:
            reader.cancel()
        if feed.pc:
            self._retire(feed.pc)

    def _retire(self, pc: RTCPeerConnection) -> None:
        """Close a peer connection in the background: closing may wait for a connection attempt
        to end (`close_peer`), and the signalling loop must not wait with it."""
        task = asyncio.create_task(close_peer(pc))
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)

    def _sealer(self, member: DaveMember, media: Media) -> FrameTransform:
        """Encrypt each frame for the group, unless the group holds someone unexplained."""
        return lambda frame: None if self._hold else member.encrypt(media, frame)

    def _media_reset(self) -> None:
        """Janus restarted: publish again, same keys; the rosters that follow, showing who
        publishes again, bring the subscriptions back."""
        for feed in list(self.feeds.values()):
            self._drop_feed(feed)
        if self.publisher:
            self._retire(self.publisher)
            self.publisher = None
        if self.device.role is not Role.PRESS:
            self._spawn(self._publish_on_admission(), "parley-republish")


CONNECT_SETTLE = 5.0  # s: how long closing waits for a connection attempt to finish


async def close_peer(pc: RTCPeerConnection) -> None:
    """Close a peer connection, first letting a connection attempt in progress finish.

    aiortc connects in a background task that starts each transceiver's transport in turn; a
    connection closed in between makes that task fail on a closed transport (InvalidStateError,
    raised where no one can catch it). Waiting for the attempt to end, then one moment for the
    task to finish its loop, avoids it; a dropped feed or a leaving device waits at most
    CONNECT_SETTLE.
    """
    if pc.connectionState in ("new", "connecting") and pc.remoteDescription is not None:
        settled = asyncio.Event()

        @pc.on("connectionstatechange")
        def on_change() -> None:
            if pc.connectionState not in ("new", "connecting"):
                settled.set()

        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(settled.wait(), CONNECT_SETTLE)
        await asyncio.sleep(0.05)
    await pc.close()


def _opener(member: DaveMember, sender: int, media: Media) -> FrameTransform:
    return lambda frame: member.decrypt(sender, media, frame)
