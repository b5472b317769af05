"""A typed VideoRoom API (Janus 1.1, multistream) over a :class:`~parley.media.janus_client.JanusHandle`.

The Parley server drives three roles, each over its own handle:

* :class:`VideoRoom`: room management (create with ``require_e2ee``, destroy, list, kick); any handle.
* :class:`VideoRoomPublisher`: one participant's sending PeerConnection (``join`` then ``publish``).
* :class:`VideoRoomSubscriber`: one receiving PeerConnection over streams of one or more publishers.

Janus answers ``create``/``destroy``/``exists``/``listparticipants``/``kick`` synchronously and the
participant requests with an ack then an event; both reach here as one
:class:`~parley.media.janus_api.PluginResult`. A plugin refusal (``error_code`` in the data) raises
:class:`VideoRoomError`. Room notifications (publishers appearing or leaving, subscriber renegotiations)
come as :class:`~parley.media.janus_api.PluginEvent` on the handle; :func:`room_event` types them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from parley.media.janus_api import JanusException, JanusProtocolError, Jsep, Json, PluginEvent, PluginResult
from parley.media.janus_client import JanusHandle, JanusSession

PLUGIN = "janus.plugin.videoroom"

# Plugin error codes (janus_videoroom.c), for callers that react to particular refusals.
NO_SUCH_ROOM = 426
ROOM_EXISTS = 427
NO_SUCH_FEED = 428
PUBLISHERS_FULL = 432
UNAUTHORIZED = 433  # also: a plain publisher in a require_e2ee room
ALREADY_PUBLISHED = 434
ID_EXISTS = 436


class VideoRoomError(JanusException):
    """The VideoRoom plugin refused a request (``error_code``/``error`` in its reply)."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(f"VideoRoom error {code}: {message}")
        self.code = code
        self.message = message


@dataclass(frozen=True)
class PublishedStream:
    """One m-line of a publisher, as announced to the room."""

    type: str
    mindex: int
    mid: str | None  # Janus's own (it names a section the offer left unnamed by its index)
    codec: str | None = None
    description: str | None = None
    disabled: bool = False

    @classmethod
    def from_json(cls, obj: Json) -> PublishedStream:
        return cls(
            type=str(obj.get("type")),
            mindex=int(obj.get("mindex", -1)),
            mid=_opt_str(obj, "mid"),
            codec=_opt_str(obj, "codec"),
            description=_opt_str(obj, "description"),
            disabled=obj.get("disabled") is True,
        )


@dataclass(frozen=True)
class Publisher:
    """An active publisher (a feed) in a room."""

    id: int
    display: str | None
    streams: tuple[PublishedStream, ...]

    @classmethod
    def from_json(cls, obj: Json) -> Publisher:
        return cls(
            id=int(obj["id"]),
            display=_opt_str(obj, "display"),
            streams=tuple(PublishedStream.from_json(s) for s in obj.get("streams", ())),
        )


@dataclass(frozen=True)
class Participant:
    """A participant of ``listparticipants``: joined, and ``publisher`` if its PeerConnection is up."""

    id: int
    display: str | None
    publisher: bool


@dataclass(frozen=True)
class StreamRequest:
    """What a subscriber asks for: all of a feed's streams, or the one with ``mid``."""

    feed: int
    mid: str | None = None

    def to_json(self) -> Json:
        obj: Json = {"feed": self.feed}
        if self.mid is not None:
            obj["mid"] = self.mid
        return obj


@dataclass(frozen=True)
class SubscriptionStream:
    """One m-line of a subscription, mapping the subscriber's ``mid`` to a feed's ``feed_mid``."""

    mindex: int
    mid: str
    type: str
    feed_id: int | None
    feed_mid: str | None
    feed_display: str | None
    active: bool
    ready: bool

    @classmethod
    def from_json(cls, obj: Json) -> SubscriptionStream:
        feed = obj.get("feed_id")
        return cls(
            mindex=int(obj.get("mindex", -1)),
            mid=str(obj.get("mid")),
            type=str(obj.get("type")),
            feed_id=feed if isinstance(feed, int) else None,
            feed_mid=_opt_str(obj, "feed_mid"),
            feed_display=_opt_str(obj, "feed_display"),
            active=obj.get("active", True) is not False,
            ready=obj.get("ready") is True,
        )


# --- room notifications ------------------------------------------------------------------------------


@dataclass(frozen=True)
class VideoRoomEvent:
    """Base of the typed room notifications :func:`room_event` returns."""

    room: int


@dataclass(frozen=True)
class PublishersAdded(VideoRoomEvent):
    """Feeds became available (a PeerConnection came up); subscribe to them now."""

    publishers: tuple[Publisher, ...]


@dataclass(frozen=True)
class Unpublished(VideoRoomEvent):
    """A feed went away (unpublish, hangup or leave)."""

    feed_id: int


@dataclass(frozen=True)
class ParticipantLeft(VideoRoomEvent):
    feed_id: int


@dataclass(frozen=True)
class ParticipantKicked(VideoRoomEvent):
    """Another participant was kicked; :class:`Kicked` is what the kicked handle itself receives."""

    feed_id: int


@dataclass(frozen=True)
class Kicked(VideoRoomEvent):
    """This handle's participant was kicked out of the room."""


@dataclass(frozen=True)
class RoomDestroyed(VideoRoomEvent):
    pass


@dataclass(frozen=True)
class SubscriptionUpdated(VideoRoomEvent):
    """Janus renegotiates a subscription (e.g. a feed left): answer ``jsep`` with ``start``."""

    streams: tuple[SubscriptionStream, ...]
    jsep: Jsep | None = field(repr=False)


def room_event(event: PluginEvent) -> VideoRoomEvent | None:
    """Type a VideoRoom notification; None for those Parley does not use (talking, joining...)."""
    data = event.data
    kind = data.get("videoroom")
    room = data.get("room")
    if not isinstance(room, int):
        return None
    if kind == "destroyed":
        return RoomDestroyed(room)
    if kind == "updated":
        streams = tuple(SubscriptionStream.from_json(s) for s in data.get("streams", ()))
        return SubscriptionUpdated(room, streams, event.jsep)
    if kind != "event":
        return None
    if isinstance(data.get("publishers"), list):
        return PublishersAdded(room, tuple(Publisher.from_json(p) for p in data["publishers"]))
    for key, cls in (
        ("unpublished", Unpublished),
        ("leaving", ParticipantLeft),
        ("kicked", ParticipantKicked),
    ):
        value = data.get(key)
        if isinstance(value, int) and not isinstance(value, bool):
            return cls(room, value)
    if data.get("leaving") == "ok" and data.get("reason") == "kicked":
        return Kicked(room)
    return None


# --- the three roles ---------------------------------------------------------------------------------


async def _call(
    handle: JanusHandle, expect: str | tuple[str, ...], body: Mapping[str, Any], jsep: Jsep | None = None
) -> PluginResult:
    result = await handle.message(body, jsep)
    data = result.data
    if "error_code" in data:
        raise VideoRoomError(int(data["error_code"]), str(data.get("error", "")))
    if data.get("videoroom") not in ((expect,) if isinstance(expect, str) else expect):
        raise JanusProtocolError(f"VideoRoom answered {body.get('request')!r} with {data.get('videoroom')!r}")
    return result


class VideoRoom:
    """Room management, used by the server on a handle of its own (never a client's)."""

    def __init__(self, handle: JanusHandle) -> None:
        self.handle = handle

    @classmethod
    async def attach(cls, session: JanusSession) -> VideoRoom:
        return cls(await session.attach(PLUGIN))

    async def create_room(
        self,
        room: int,
        *,
        publishers: int,
        require_e2ee: bool = True,
        audiocodec: str = "opus",
        videocodec: str = "vp8",
        secret: str | None = None,
        permanent: bool = False,
        description: str | None = None,
        bitrate: int | None = None,
        fir_freq: int | None = None,
    ) -> None:
        """Create ``room``; if ``require_e2ee``, Janus refuses publishers lacking the JSEP e2ee flag (433)."""
        body: Json = {
            "request": "create",
            "room": room,
            "permanent": permanent,
            "publishers": publishers,
            "require_e2ee": require_e2ee,
            "audiocodec": audiocodec,
            "videocodec": videocodec,
            # Only the Parley server reads room lists; keep rooms out of any "list" anyway.
            "is_private": True,
        }
        for key, value in (
            ("secret", secret),
            ("description", description),
            ("bitrate", bitrate),
            ("fir_freq", fir_freq),
        ):
            if value is not None:
                body[key] = value
        await _call(self.handle, "created", body)

    async def destroy_room(self, room: int, *, secret: str | None = None, permanent: bool = False) -> None:
        """Destroy ``room``: Janus tells each participant (``destroyed``) and closes their PeerConnections."""
        await _call(
            self.handle,
            "destroyed",
            _with_secret({"request": "destroy", "room": room, "permanent": permanent}, secret),
        )

    async def exists(self, room: int) -> bool:
        result = await _call(self.handle, "success", {"request": "exists", "room": room})
        return result.data.get("exists") is True

    async def list_participants(self, room: int) -> list[Participant]:
        result = await _call(self.handle, "participants", {"request": "listparticipants", "room": room})
        return [
            Participant(int(p["id"]), _opt_str(p, "display"), p.get("publisher") is True)
            for p in result.data.get("participants", ())
        ]

    async def kick(self, room: int, feed_id: int, *, secret: str | None = None) -> None:
        """Remove a participant (its handle gets :class:`Kicked`, the others :class:`ParticipantKicked`)."""
        await _call(
            self.handle, "success", _with_secret({"request": "kick", "room": room, "id": feed_id}, secret)
        )

    async def moderate(
        self, room: int, feed_id: int, mid: str, mute: bool, *, secret: str | None = None
    ) -> None:
        """Stop (or resume) forwarding one of a publisher's streams to its subscribers.

        Janus drops the stream's packets at the publisher while it is muted; the publisher's
        PeerConnection stays up, so unmuting resumes forwarding at the next packet.
        """
        body = {"request": "moderate", "room": room, "id": feed_id, "mid": mid, "mute": mute}
        await _call(self.handle, "success", _with_secret(body, secret))


class VideoRoomPublisher:
    """One participant's sending side: ``join`` the room, then ``publish`` an offer."""

    def __init__(self, handle: JanusHandle) -> None:
        self.handle = handle
        self.room: int | None = None
        self.feed_id: int | None = None
        self.private_id: int | None = None
        self.streams: tuple[PublishedStream, ...] = ()  # as Janus holds them after `publish`

    @classmethod
    async def attach(cls, session: JanusSession) -> VideoRoomPublisher:
        return cls(await session.attach(PLUGIN))

    async def join(self, room: int, feed_id: int, display: str | None = None) -> list[Publisher]:
        """Join as participant ``feed_id``; returns the publishers already active in the room."""
        body: Json = {"request": "join", "ptype": "publisher", "room": room, "id": feed_id}
        if display is not None:
            body["display"] = display
        result = await _call(self.handle, "joined", body)
        self.room, self.feed_id = room, feed_id
        private_id = result.data.get("private_id")
        self.private_id = private_id if isinstance(private_id, int) else None
        return [Publisher.from_json(p) for p in result.data.get("publishers", ())]

    async def publish(
        self,
        offer: Jsep,
        *,
        e2ee: bool = True,
        descriptions: Mapping[str, str] | None = None,
    ) -> Jsep:
        """Send the client's offer; returns Janus's answer, which carries Janus's ICE candidates.
        Afterwards `streams` lists the streams as Janus holds them (its mids: what `moderate` takes).

        ``e2ee`` goes in the JSEP object (not the body): it is what a ``require_e2ee`` room checks.
        ``descriptions`` maps mids to labels other participants see (e.g. "camera", "interpreter EN").
        """
        if offer.type != "offer":
            raise ValueError(f"publish needs an offer, not an {offer.type!r}")
        body: Json = {"request": "publish"}
        if descriptions:
            body["descriptions"] = [{"mid": mid, "description": text} for mid, text in descriptions.items()]
        jsep = Jsep(offer.type, offer.sdp, e2ee=e2ee, trickle=offer.trickle)
        result = await _call(self.handle, "event", body, jsep)
        if result.jsep is None or result.jsep.type != "answer":
            raise JanusProtocolError("VideoRoom accepted the publish without an SDP answer")
        self.streams = tuple(PublishedStream.from_json(s) for s in result.data.get("streams", ()))
        return result.jsep

    async def configure_bitrate(self, bitrate: int) -> None:
        """Cap what the publisher sends, in bit/s: Janus tells it at once by REMB, and again every
        few seconds."""
        await _call(self.handle, "event", {"request": "configure", "bitrate": bitrate})

    async def unpublish(self) -> None:
        """Tear down the PeerConnection but stay in the room (the feed disappears for subscribers)."""
        await _call(self.handle, "event", {"request": "unpublish"})

    async def leave(self) -> None:
        await _call(self.handle, "event", {"request": "leave"})
        self.room = self.feed_id = self.private_id = None


class VideoRoomSubscriber:
    """One receiving PeerConnection: Janus offers, the client answers (``start``)."""

    def __init__(self, handle: JanusHandle) -> None:
        self.handle = handle
        self.streams: tuple[SubscriptionStream, ...] = ()

    @classmethod
    async def attach(cls, session: JanusSession) -> VideoRoomSubscriber:
        return cls(await session.attach(PLUGIN))

    async def join(
        self, room: int, streams: Sequence[StreamRequest], *, private_id: int | None = None
    ) -> Jsep:
        """Subscribe to ``streams``; returns Janus's offer (with its candidates) to answer with :meth:`start`.

        A feed whose PeerConnection is not up yet is refused with 428 (No such feed): wait for
        :class:`PublishersAdded` or the publisher's ``webrtcup`` first.
        """
        body: Json = {
            "request": "join",
            "ptype": "subscriber",
            "room": room,
            "streams": [s.to_json() for s in streams],
        }
        if private_id is not None:
            body["private_id"] = private_id
        result = await _call(self.handle, "attached", body)
        self.streams = tuple(SubscriptionStream.from_json(s) for s in result.data.get("streams", ()))
        if result.jsep is None or result.jsep.type != "offer":
            raise JanusProtocolError("VideoRoom attached a subscriber without an SDP offer")
        return result.jsep

    async def start(self, answer: Jsep) -> None:
        """Send the client's answer to the current offer (first one, or a renegotiation)."""
        if answer.type != "answer":
            raise ValueError(f"start needs an answer, not an {answer.type!r}")
        await _call(self.handle, "event", {"request": "start"}, answer)

    async def update(
        self, subscribe: Sequence[StreamRequest] = (), unsubscribe: Sequence[StreamRequest] = ()
    ) -> Jsep | None:
        """Add and remove streams in one renegotiation; returns the new offer, or None when nothing changed
        or Janus postponed it (still waiting for the previous answer: the offer then comes as
        :class:`SubscriptionUpdated`)."""
        body: Json = {
            "request": "update",
            "subscribe": [s.to_json() for s in subscribe],
            "unsubscribe": [s.to_json() for s in unsubscribe],
        }
        result = await _call(self.handle, ("updated", "updating"), body)
        if "streams" in result.data:
            self.streams = tuple(SubscriptionStream.from_json(s) for s in result.data["streams"])
        return result.jsep

    async def leave(self) -> None:
        await _call(self.handle, "event", {"request": "leave"})


def _with_secret(body: Json, secret: str | None) -> Json:
    if secret is not None:
        body["secret"] = secret
    return body


def _opt_str(obj: Json, key: str) -> str | None:
    value = obj.get(key)
    return value if isinstance(value, str) else None
