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
import json
import logging
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any, Protocol

from parley.e2ee.gateway import Accepted, DaveGateway, Outcome, Refused
from parley.e2ee.opcodes import ServerBinaryOp, encode_server_binary
from parley.media.plane import MediaError
from parley.server.protocol import DeviceInfo, server_op
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
    async def drop_device(self, device: int) -> None: ...
    async def close_room(self, room: int) -> None: ...


@dataclass(eq=False)
class Device:
    user_id: int
    delegation: Delegation
    role: Role
    people: list[str]
    connection: Connection
    publishing: bool = False
    outbox: asyncio.Queue[str | bytes | None] = field(default_factory=lambda: asyncio.Queue(OUTBOX_LIMIT))
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
        )


class Room:
    def __init__(
        self, summit: Summit, media: MediaPlane, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.summit = summit
        self.media = media
        self.clock = clock
        self.gateway = DaveGateway(summit.channel_id)
        self.devices: dict[int, Device] = {}
        self._timer: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        self._media_ready = False

    # -- membership ------------------------------------------------------------------------------

    async def admit(self, device: Device, ready: str) -> None:
        """Bring a device in: it gets `ready`, everyone gets the roster, DAVE starts for it."""
        await self._ensure_media()
        self.devices[device.user_id] = device
        device.writer = asyncio.create_task(self._write(device), name=f"writer-{device.user_id}")
        self._enqueue(device, ready)
        self._broadcast_roster()
        self._deliver(self.gateway.connect(device.user_id, self.clock()))
        self._ensure_timer()

    async def depart(self, user_id: int) -> None:
        """The device is gone (left, disconnected, kicked): DAVE removes it, Janus drops it."""
        device = self.devices.pop(user_id, None)
        if device is None:
            return
        self._deliver(self.gateway.leave(user_id, self.clock()))
        self._broadcast_roster()
        if device.writer:
            try:
                device.outbox.put_nowait(None)  # the writer sends what is queued, then stops
            except asyncio.QueueFull:
                device.writer.cancel()
        try:
            await self.media.drop_device(user_id)
        except MediaError as e:
            log.warning("media cleanup for a departed device failed: %s", e)

    @property
    def empty(self) -> bool:
        return not self.devices

    async def close(self) -> None:
        for user_id in list(self.devices):
            await self.depart(user_id)
        if self._timer:
            self._timer.cancel()
        if self._media_ready:
            await self.media.close_room(self.summit.channel_id)

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
                self._enqueue(device, server_json(send.op.to_json()))

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
        if not self._media_ready:
            await self.media.open_room(self.summit.channel_id)
            self._media_ready = True

    async def publish(self, device: Device, offer_sdp: str) -> str:
        """Relay the device's offer to Janus; it shows as publishing once its media is up."""
        display = f"{device.delegation.name}: {', '.join(device.people)}"
        return await self.media.publish(self.summit.channel_id, device.user_id, display, offer_sdp)

    def published(self, user_id: int) -> None:
        device = self.devices.get(user_id)
        if device is not None and not device.publishing:
            device.publishing = True
            self._broadcast_roster()

    async def subscribe(self, device: Device, feed: int) -> str:
        source = self.devices.get(feed)
        if source is None or not source.publishing or feed == device.user_id:
            raise MediaError("no_such_feed", f"device {feed} is not publishing in this summit")
        return await self.media.subscribe(self.summit.channel_id, device.user_id, feed)

    async def media_reset(self) -> None:
        """Janus restarted: every handle is gone. Reopen the room; devices publish again."""
        self._media_ready = False
        await self._ensure_media()
        for device in self.devices.values():
            device.publishing = False
        for device in self.devices.values():
            self._enqueue(device, server_op("media_reset", {"reason": "the media server restarted"}))
        self._broadcast_roster()

    # -- sending -------------------------------------------------------------------------------

    def roster(self) -> list[dict[str, Any]]:
        return [d.info().model_dump(mode="json") for d in self.devices.values()]

    def _broadcast_roster(self) -> None:
        text = server_op("roster", {"devices": self.roster()})
        for device in self.devices.values():
            self._enqueue(device, text)

    def send(self, device: Device, text: str) -> None:
        self._enqueue(device, text)

    def _enqueue(self, device: Device, message: str | bytes) -> None:
        try:
            device.outbox.put_nowait(message)
        except asyncio.QueueFull:
            log.warning("device %d is not reading; disconnecting it", device.user_id)
            if device.writer:
                device.writer.cancel()
            asyncio.get_running_loop().create_task(self._drop_slow(device))

    async def _drop_slow(self, device: Device) -> None:
        await device.connection.close(1008, "not reading fast enough")
        await self.depart(device.user_id)

    async def _write(self, device: Device) -> None:
        try:
            while (message := await device.outbox.get()) is not None:
                if isinstance(message, bytes):
                    await device.connection.send_bytes(message)
                else:
                    await device.connection.send_text(message)
        except Exception as e:  # the socket is gone; the reader sees it and departs the device
            log.info("writer for device %d stopped: %s", device.user_id, type(e).__name__)


def server_json(message: dict[str, Any]) -> str:
    return json.dumps(message, separators=(",", ":"))
