"""The Janus core API (the JSON messages of the WebSocket transport), sans-IO.

:class:`JanusApi` turns typed requests into the text to send, and received text into typed events; the
caller does the I/O and passes the clock in (``now``). It knows which replies end which request (one table,
``_REPLIES``), which sessions and handles are alive on the connection, and when each session needs a
keepalive. :mod:`parley.media.janus_client` is its thin asyncio shell.

Errors (``JanusException`` and below; the api secret never appears in any of them):

* JanusException              anything this package raises about Janus
  * JanusError(code, reason)  Janus refused a request: its ``error`` reply (remote)
  * JanusConnectionLost       the connection ended before the answer came: Janus died or restarted
  * JanusProtocolError        Janus sent something this module cannot read (also a ``ValueError``)

Plugin-level refusals (``error_code`` inside a plugin's data) are the plugin wrapper's business:
:class:`parley.media.videoroom.VideoRoomError`.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Generic, TypeVar

Json = dict[str, Any]

#: Keepalive period. Janus destroys sessions idle for ``session_timeout`` (60 s by default); any request on
#: the session counts as activity, so a keepalive is only sent after this long without one.
KEEPALIVE_INTERVAL = 25.0


class JanusException(Exception):
    """Base of everything this package raises about Janus."""


class JanusError(JanusException):
    """Janus answered a request with ``{"janus": "error"}``; ``code`` is one of Janus's apierror.h codes."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(f"Janus error {code}: {reason}")
        self.code = code
        self.reason = reason


class JanusConnectionLost(JanusException):
    """The connection to Janus ended before the answer came (Janus died, restarted or closed it)."""


class JanusProtocolError(JanusException, ValueError):
    """Janus sent a message this module cannot read."""


# --- values carried by requests and events ------------------------------------------------------------


@dataclass(frozen=True)
class Jsep:
    """An SDP offer or answer as Janus carries it (``e2ee`` marks end-to-end encrypted publishers)."""

    type: str
    sdp: str
    e2ee: bool = False
    #: False tells Janus every candidate is already in the SDP (aiortc's way): no trickle will follow.
    trickle: bool | None = None

    def to_json(self) -> Json:
        obj: Json = {"type": self.type, "sdp": self.sdp}
        if self.e2ee:
            obj["e2ee"] = True
        if self.trickle is not None:
            obj["trickle"] = self.trickle
        return obj

    @classmethod
    def from_json(cls, obj: object) -> Jsep:
        if not isinstance(obj, dict):
            raise JanusProtocolError("jsep is not an object")
        return cls(
            type=_str(obj, "type"),
            sdp=_str(obj, "sdp"),
            e2ee=obj.get("e2ee") is True,
            trickle=obj.get("trickle") if isinstance(obj.get("trickle"), bool) else None,
        )


@dataclass(frozen=True)
class IceCandidate:
    """One trickled ICE candidate, named as in RTCIceCandidateInit."""

    candidate: str
    sdp_mid: str | None = None
    sdp_mline_index: int | None = None

    def to_json(self) -> Json:
        obj: Json = {"candidate": self.candidate}
        if self.sdp_mid is not None:
            obj["sdpMid"] = self.sdp_mid
        if self.sdp_mline_index is not None:
            obj["sdpMLineIndex"] = self.sdp_mline_index
        return obj


# --- requests -------------------------------------------------------------------------------------------

A = TypeVar("A", bound="Answer")


@dataclass(frozen=True)
class JanusRequest(Generic[A]):
    """A request to Janus's core; ``A`` is the answer that ends it (see ``_REPLIES``)."""

    janus: ClassVar[str]

    def fields(self) -> Json:
        """The request's own members (the connection adds ``janus``, ``transaction`` and ``apisecret``)."""
        return {}

    @property
    def session(self) -> int | None:
        return None


@dataclass(frozen=True)
class Info(JanusRequest["ServerInfo"]):
    janus: ClassVar[str] = "info"


@dataclass(frozen=True)
class CreateSession(JanusRequest["SessionCreated"]):
    janus: ClassVar[str] = "create"


@dataclass(frozen=True)
class _SessionRequest(JanusRequest[A]):
    session_id: int

    def fields(self) -> Json:
        return {"session_id": self.session_id}

    @property
    def session(self) -> int | None:
        return self.session_id


@dataclass(frozen=True)
class DestroySession(_SessionRequest["Succeeded"]):
    janus: ClassVar[str] = "destroy"


@dataclass(frozen=True)
class Keepalive(_SessionRequest["Acked"]):
    janus: ClassVar[str] = "keepalive"


@dataclass(frozen=True)
class Attach(_SessionRequest["HandleAttached"]):
    janus: ClassVar[str] = "attach"
    plugin: str
    opaque_id: str | None = None

    def fields(self) -> Json:
        obj = super().fields() | {"plugin": self.plugin}
        if self.opaque_id is not None:
            obj["opaque_id"] = self.opaque_id
        return obj


@dataclass(frozen=True)
class _HandleRequest(_SessionRequest[A]):
    handle_id: int

    def fields(self) -> Json:
        return super().fields() | {"handle_id": self.handle_id}


@dataclass(frozen=True)
class Detach(_HandleRequest["Succeeded"]):
    janus: ClassVar[str] = "detach"


@dataclass(frozen=True)
class Hangup(_HandleRequest["Succeeded"]):
    """Close the handle's PeerConnection, keeping the handle (and its plugin state)."""

    janus: ClassVar[str] = "hangup"


@dataclass(frozen=True)
class Message(_HandleRequest["PluginResult"]):
    """A request to the handle's plugin, with an SDP offer or answer when it negotiates media."""

    janus: ClassVar[str] = "message"
    body: Mapping[str, Any]
    jsep: Jsep | None = None

    def fields(self) -> Json:
        obj = super().fields() | {"body": dict(self.body)}
        if self.jsep is not None:
            obj["jsep"] = self.jsep.to_json()
        return obj


@dataclass(frozen=True)
class Trickle(_HandleRequest["Acked"]):
    """A client's ICE candidates for the handle's PeerConnection; ``completed`` ends them."""

    janus: ClassVar[str] = "trickle"
    candidates: tuple[IceCandidate, ...] = ()
    completed: bool = False

    def __post_init__(self) -> None:
        if self.completed == bool(self.candidates):
            raise ValueError("a trickle carries either candidates or completed, not both or neither")

    def fields(self) -> Json:
        obj = super().fields()
        if self.completed:
            obj["candidate"] = {"completed": True}
        else:
            obj["candidates"] = [c.to_json() for c in self.candidates]
        return obj


# --- events ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class JanusEvent:
    """Base of everything :meth:`JanusApi.receive` and :meth:`JanusApi.connection_lost` return."""


@dataclass(frozen=True)
class Answer(JanusEvent):
    """The reply that ends a request, matched by its transaction."""

    transaction: str


@dataclass(frozen=True)
class Failed(JanusEvent):
    """A request ended without an answer: Janus refused it, or the connection was lost."""

    transaction: str
    error: JanusException


@dataclass(frozen=True)
class ServerInfo(Answer):
    version: str
    plugins: tuple[str, ...]
    transports: tuple[str, ...]
    event_handlers: tuple[str, ...]
    loggers: tuple[str, ...]
    log_path: str | None
    api_secret_required: bool


@dataclass(frozen=True)
class SessionCreated(Answer):
    session_id: int


@dataclass(frozen=True)
class HandleAttached(Answer):
    handle_id: int


@dataclass(frozen=True)
class Acked(Answer):
    pass


@dataclass(frozen=True)
class Succeeded(Answer):
    pass


@dataclass(frozen=True)
class PluginResult(Answer):
    """A plugin's reply to a :class:`Message`: ``success`` (synchronous) or ``event`` after the ack."""

    session_id: int
    handle_id: int
    plugin: str
    data: Json = field(repr=False)
    jsep: Jsep | None = field(default=None, repr=False)


@dataclass(frozen=True)
class HandleEvent(JanusEvent):
    """Something that happened on one handle, not as the answer to a request."""

    session_id: int
    handle_id: int


@dataclass(frozen=True)
class PluginEvent(HandleEvent):
    """A plugin's asynchronous notification (e.g. VideoRoom's publishers joining or leaving)."""

    plugin: str
    data: Json = field(repr=False)
    jsep: Jsep | None = field(default=None, repr=False)


@dataclass(frozen=True)
class WebrtcUp(HandleEvent):
    """The handle's PeerConnection is up: ICE and DTLS done, media may flow."""


@dataclass(frozen=True)
class MediaEvent(HandleEvent):
    """Janus started or stopped receiving one medium (after ``no_media_timer`` seconds without it)."""

    mid: str | None
    media_type: str
    receiving: bool


@dataclass(frozen=True)
class HangupEvent(HandleEvent):
    """The handle's PeerConnection is gone (``reason`` as Janus says it: DTLS alert, ICE failed...)."""

    reason: str


@dataclass(frozen=True)
class SlowLink(HandleEvent):
    """Many packets of one stream lost within a second (more than Janus's ``slowlink_threshold``).
    ``uplink`` true: the peer's receiver reports lost what Janus sent it (on a subscriber handle,
    the subscriber's downlink); false: Janus lost what the peer sent."""

    mid: str | None
    media_type: str
    uplink: bool
    lost: int


@dataclass(frozen=True)
class Detached(HandleEvent):
    """The handle no longer exists in Janus (detached by us, or by the plugin)."""


@dataclass(frozen=True)
class RemoteCandidate(HandleEvent):
    """A candidate Janus trickles (only with ``full_trickle``); ``None`` means gathering completed."""

    candidate: IceCandidate | None


@dataclass(frozen=True)
class HandleLost(HandleEvent):
    """Synthetic: the handle died with its session or with the connection; no more events will come."""

    reason: str


@dataclass(frozen=True)
class SessionTimeout(JanusEvent):
    """Janus destroyed an idle session (keepalives stopped); its handles are lost too."""

    session_id: int


# Which replies end a request, by request kind: (final, interim). "error" always ends a request.
# A plugin may push its answer event before the core sends the ack (they come from different threads),
# so an "event" ends a message whether or not the ack came first.
_REPLIES: Mapping[str, tuple[frozenset[str], frozenset[str]]] = {
    "info": (frozenset({"server_info"}), frozenset()),
    "create": (frozenset({"success"}), frozenset()),
    "destroy": (frozenset({"success"}), frozenset()),
    "keepalive": (frozenset({"ack"}), frozenset()),
    "attach": (frozenset({"success"}), frozenset()),
    "detach": (frozenset({"success"}), frozenset()),
    "hangup": (frozenset({"success"}), frozenset()),
    "message": (frozenset({"success", "event"}), frozenset({"ack"})),
    "trickle": (frozenset({"ack"}), frozenset()),
}


@dataclass
class _Pending:
    request: JanusRequest[Any]


class JanusApi:
    """One connection's worth of the Janus API, with no I/O: text in, events out, text to send.

    The connection owner calls :meth:`send` for each request and writes the returned text, feeds every
    received text to :meth:`receive`, calls :meth:`connection_lost` when the socket ends, and sends
    :meth:`keepalives_due` when :meth:`next_keepalive_at` comes.
    """

    def __init__(
        self,
        api_secret: str,
        *,
        keepalive_interval: float = KEEPALIVE_INTERVAL,
        transaction_ids: Iterator[str] | None = None,
    ) -> None:
        self._api_secret = api_secret
        self._keepalive_interval = keepalive_interval
        self._ids = transaction_ids or (f"p{n}" for n in itertools.count(1))
        self._pending: dict[str, _Pending] = {}
        # session id -> (time of the last request on it, its handles)
        self._sessions: dict[int, tuple[float, set[int]]] = {}
        self._lost = False

    @property
    def sessions(self) -> Mapping[int, frozenset[int]]:
        """Live sessions on this connection and their handles."""
        return {sid: frozenset(handles) for sid, (_, handles) in self._sessions.items()}

    def send(self, request: JanusRequest[Any], now: float) -> tuple[str, str]:
        """Register ``request`` and return ``(transaction, text to send)``."""
        if self._lost:
            raise JanusConnectionLost("Cannot send on a Janus connection that was lost")
        transaction = next(self._ids)
        if transaction in self._pending:
            raise RuntimeError(f"Transaction id {transaction!r} is already in use")
        self._pending[transaction] = _Pending(request)
        sid = request.session
        if sid is not None and sid in self._sessions:
            self._sessions[sid] = (now, self._sessions[sid][1])
        message = {"janus": request.janus, "transaction": transaction, "apisecret": self._api_secret}
        return transaction, json.dumps(message | request.fields())

    def forget(self, transaction: str) -> None:
        """The caller stopped waiting (timeout, cancellation): a late answer is then ignored."""
        self._pending.pop(transaction, None)

    def receive(self, text: str, now: float) -> list[JanusEvent]:
        """Parse one message from Janus. Raises :class:`JanusProtocolError` when it cannot be read."""
        try:
            message = json.loads(text)
        except ValueError as exc:
            raise JanusProtocolError(f"Janus message is not JSON: {exc}") from None
        if not isinstance(message, dict) or not isinstance(message.get("janus"), str):
            raise JanusProtocolError("Janus message is not an object with a 'janus' kind")
        kind: str = message["janus"]
        transaction = message.get("transaction")
        pending = self._pending.get(transaction) if isinstance(transaction, str) else None
        if pending is not None and isinstance(transaction, str):
            final, interim = _REPLIES[pending.request.janus]
            if kind == "error":
                del self._pending[transaction]
                error = message.get("error")
                if not isinstance(error, dict):
                    raise JanusProtocolError("Janus error without an 'error' object")
                code = error.get("code")
                return [
                    Failed(
                        transaction,
                        JanusError(code if isinstance(code, int) else 0, str(error.get("reason"))),
                    )
                ]
            if kind in final:
                del self._pending[transaction]
                return [self._answer(pending.request, transaction, kind, message, now)]
            if kind in interim:
                return []
            if kind != "event":
                raise JanusProtocolError(f"Janus answered a {pending.request.janus!r} with {kind!r}")
        # Not an answer we wait for: an asynchronous event (or a late reply to a forgotten request).
        return self._event(kind, message)

    def connection_lost(self, reason: str) -> list[JanusEvent]:
        """The socket ended: every pending request fails and every handle is lost."""
        self._lost = True
        events: list[JanusEvent] = [
            Failed(
                tx,
                JanusConnectionLost(
                    f"Janus connection lost ({reason}) before it answered {p.request.janus!r}"
                ),
            )
            for tx, p in self._pending.items()
        ]
        self._pending.clear()
        for sid, (_, handles) in self._sessions.items():
            events.extend(HandleLost(sid, hid, f"connection lost ({reason})") for hid in sorted(handles))
        self._sessions.clear()
        return events

    def next_keepalive_at(self) -> float | None:
        """When the next keepalive is due, or None without sessions."""
        if not self._sessions:
            return None
        return min(last for last, _ in self._sessions.values()) + self._keepalive_interval

    def keepalives_due(self, now: float) -> list[Keepalive]:
        """Keepalives to send now (pass each to :meth:`send`, which records the activity)."""
        due = now - self._keepalive_interval
        return [Keepalive(sid) for sid, (last, _) in self._sessions.items() if last <= due]

    # --- internals

    def _answer(
        self, request: JanusRequest[Any], transaction: str, kind: str, message: Json, now: float
    ) -> Answer:
        if isinstance(request, Info):
            return _server_info(transaction, message)
        if isinstance(request, CreateSession):
            sid = _int(_obj(message, "data"), "id")
            self._sessions[sid] = (now, set())
            return SessionCreated(transaction, sid)
        if isinstance(request, Attach):
            hid = _int(_obj(message, "data"), "id")
            if request.session_id in self._sessions:
                self._sessions[request.session_id][1].add(hid)
            return HandleAttached(transaction, hid)
        if isinstance(request, DestroySession):
            self._sessions.pop(request.session_id, None)
            return Succeeded(transaction)
        if isinstance(request, Detach):
            self._drop_handle(request.session_id, request.handle_id)
            return Succeeded(transaction)
        if isinstance(request, Message):
            plugin, data, jsep = _plugindata(message)
            return PluginResult(transaction, request.session_id, request.handle_id, plugin, data, jsep)
        return Acked(transaction) if kind == "ack" else Succeeded(transaction)

    def _event(self, kind: str, message: Json) -> list[JanusEvent]:
        if kind == "timeout":
            sid = _int(message, "session_id")
            _, handles = self._sessions.pop(sid, (0.0, set()))
            return [SessionTimeout(sid), *(HandleLost(sid, h, "session timed out") for h in sorted(handles))]
        parse = _HANDLE_EVENTS.get(kind)
        if parse is None:
            return []  # late acks/successes of forgotten requests, and kinds Parley has no use for
        sid, hid = _int(message, "session_id"), _int(message, "sender")
        if kind == "detached":
            self._drop_handle(sid, hid)
        return [parse(sid, hid, message)]

    def _drop_handle(self, sid: int, hid: int) -> None:
        if sid in self._sessions:
            self._sessions[sid][1].discard(hid)


def _plugin_event(sid: int, hid: int, message: Json) -> HandleEvent:
    plugin, data, jsep = _plugindata(message)
    return PluginEvent(sid, hid, plugin, data, jsep)


def _media(sid: int, hid: int, message: Json) -> HandleEvent:
    mid = message.get("mid")
    return MediaEvent(
        sid,
        hid,
        mid if isinstance(mid, str) else None,
        _str(message, "type"),
        message.get("receiving") is True,
    )


def _slowlink(sid: int, hid: int, message: Json) -> HandleEvent:
    mid = message.get("mid")
    lost = message.get("lost")
    return SlowLink(
        sid,
        hid,
        mid if isinstance(mid, str) else None,
        str(message.get("media", "")),
        message.get("uplink") is True,
        lost if isinstance(lost, int) else 0,
    )


def _trickle(sid: int, hid: int, message: Json) -> HandleEvent:
    candidate = _obj(message, "candidate")
    if candidate.get("completed") is True:
        return RemoteCandidate(sid, hid, None)
    mline = candidate.get("sdpMLineIndex")
    mid = candidate.get("sdpMid")
    return RemoteCandidate(
        sid,
        hid,
        IceCandidate(
            _str(candidate, "candidate"),
            mid if isinstance(mid, str) else None,
            mline if isinstance(mline, int) else None,
        ),
    )


_HANDLE_EVENTS: Mapping[str, Callable[[int, int, Json], HandleEvent]] = {
    "event": _plugin_event,
    "webrtcup": lambda sid, hid, _: WebrtcUp(sid, hid),
    "media": _media,
    "hangup": lambda sid, hid, m: HangupEvent(sid, hid, str(m.get("reason", ""))),
    "slowlink": _slowlink,
    "detached": lambda sid, hid, _: Detached(sid, hid),
    "trickle": _trickle,
}


def _server_info(transaction: str, message: Json) -> ServerInfo:
    def names(key: str) -> tuple[str, ...]:
        value = message.get(key)
        return tuple(sorted(value)) if isinstance(value, dict) else ()

    log_path = message.get("log-path")
    return ServerInfo(
        transaction,
        version=str(message.get("version_string", "")),
        plugins=names("plugins"),
        transports=names("transports"),
        event_handlers=names("events"),
        loggers=names("loggers"),
        log_path=log_path if isinstance(log_path, str) else None,
        api_secret_required=message.get("api_secret") is True,
    )


def _plugindata(message: Json) -> tuple[str, Json, Jsep | None]:
    plugindata = _obj(message, "plugindata")
    jsep = message.get("jsep")
    return (
        _str(plugindata, "plugin"),
        _obj(plugindata, "data"),
        None if jsep is None else Jsep.from_json(jsep),
    )


def _obj(message: Json, key: str) -> Json:
    value = message.get(key)
    if not isinstance(value, dict):
        raise JanusProtocolError(f"Janus message lacks the object {key!r}")
    return value


def _int(message: Json, key: str) -> int:
    value = message.get(key)
    if not isinstance(value, int) or isinstance(value, bool):
        raise JanusProtocolError(f"Janus message lacks the integer {key!r}")
    return value


def _str(message: Json, key: str) -> str:
    value = message.get(key)
    if not isinstance(value, str):
        raise JanusProtocolError(f"Janus message lacks the string {key!r}")
    return value
