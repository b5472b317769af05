"""A thin asyncio shell over :class:`~parley.media.janus_api.JanusApi`: one WebSocket to Janus's API.

The Parley server opens one :class:`JanusClient` per Janus, creates sessions on it and attaches a handle per
publisher or subscriber PeerConnection. The client owns two tasks (the reader and the keepalive timer) and
cancels them in :meth:`JanusClient.close`. When the socket ends (Janus died or was restarted) every pending
request fails with :class:`~parley.media.janus_api.JanusConnectionLost`, every handle gets a
:class:`~parley.media.janus_api.HandleLost` event, and the ``on_disconnect`` callbacks run, so the owner can
connect again and rebuild its rooms.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar, cast

import websockets
from websockets.asyncio.client import ClientConnection

from parley.media.janus_api import (
    KEEPALIVE_INTERVAL,
    Answer,
    Attach,
    CreateSession,
    DestroySession,
    Detach,
    Failed,
    HandleAttached,
    HandleEvent,
    HandleLost,
    Hangup,
    IceCandidate,
    Info,
    JanusApi,
    JanusConnectionLost,
    JanusEvent,
    JanusProtocolError,
    JanusRequest,
    Jsep,
    Message,
    PluginResult,
    ServerInfo,
    SessionCreated,
    SessionTimeout,
    Trickle,
)

logger = logging.getLogger(__name__)

A = TypeVar("A", bound=Answer)
E = TypeVar("E", bound=HandleEvent)

SUBPROTOCOL = "janus-protocol"
#: How long a request may wait for its answer. Publishing waits for Janus's ICE gathering (half-trickle).
REQUEST_TIMEOUT = 15.0

HandleListener = Callable[[HandleEvent], None]


class JanusClient:
    """One WebSocket connection to Janus's API, shared by all the sessions Parley creates on it."""

    def __init__(
        self,
        websocket: ClientConnection,
        api: JanusApi,
        *,
        request_timeout: float = REQUEST_TIMEOUT,
    ) -> None:
        """Use :meth:`connect`; this wires an already open socket to a fresh :class:`JanusApi`."""
        self._ws = websocket
        self._api = api
        self._request_timeout = request_timeout
        self._loop = asyncio.get_running_loop()
        self._pending: dict[str, asyncio.Future[Answer]] = {}
        self._handles: dict[tuple[int, int], JanusHandle] = {}
        self._sessions: dict[int, JanusSession] = {}
        self._disconnect_callbacks: list[Callable[[JanusConnectionLost], None]] = []
        self._closed = asyncio.Event()
        self._close_reason: JanusConnectionLost | None = None
        self._keepalive_wake = asyncio.Event()
        self._reader = asyncio.create_task(self._read(), name="janus-client-reader")
        self._keepalive = asyncio.create_task(self._keepalives(), name="janus-client-keepalive")

    @classmethod
    async def connect(
        cls,
        url: str,
        api_secret: str,
        *,
        open_timeout: float = 5.0,
        close_timeout: float = 2.0,
        request_timeout: float = REQUEST_TIMEOUT,
        keepalive_interval: float = KEEPALIVE_INTERVAL,
    ) -> JanusClient:
        """Open the API socket.

        Raises ``OSError`` when nothing listens, ``TimeoutError`` when the handshake hangs, and
        ``websockets.InvalidHandshake`` when what listens is not a WebSocket server.
        """
        websocket = await websockets.connect(
            url,
            subprotocols=[websockets.Subprotocol(SUBPROTOCOL)],
            open_timeout=open_timeout,
            close_timeout=close_timeout,
            # Janus is local; a proxy from the environment must never see the API (or its secret).
            proxy=None,
            compression=None,
            max_size=16 * 2**20,
        )
        return cls(
            websocket,
            JanusApi(api_secret, keepalive_interval=keepalive_interval),
            request_timeout=request_timeout,
        )

    async def __aenter__(self) -> JanusClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    @property
    def closed(self) -> bool:
        return self._closed.is_set()

    def on_disconnect(self, callback: Callable[[JanusConnectionLost], None]) -> None:
        """Call ``callback`` once when the connection ends, whether Janus or :meth:`close` ended it."""
        self._disconnect_callbacks.append(callback)

    async def wait_closed(self) -> JanusConnectionLost:
        """Wait until the connection ends; returns why."""
        await self._closed.wait()
        assert self._close_reason is not None
        return self._close_reason

    async def close(self) -> None:
        """Close the socket (Janus then destroys the sessions created on it) and stop the tasks."""
        await self._ws.close()
        with contextlib.suppress(asyncio.CancelledError):
            await self._reader
        self._keepalive.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._keepalive

    async def request(self, request: JanusRequest[A], *, timeout: float | None = None) -> A:
        """Send ``request`` and return its final answer (for a plugin message: the event after the ack).

        Raises :class:`~parley.media.janus_api.JanusError` when Janus refuses it,
        :class:`~parley.media.janus_api.JanusConnectionLost` when the socket ends first, and
        ``TimeoutError`` after ``timeout`` (default ``request_timeout``) seconds.
        """
        if self.closed:
            raise JanusConnectionLost(f"Cannot send {request.janus!r}: the Janus connection is closed")
        transaction, text = self._api.send(request, self._loop.time())
        future: asyncio.Future[Answer] = self._loop.create_future()
        self._pending[transaction] = future
        if request.session is not None:
            self._keepalive_wake.set()
        wait = self._request_timeout if timeout is None else timeout
        try:
            try:
                await self._ws.send(text)
            except websockets.ConnectionClosed as exc:
                raise JanusConnectionLost(f"Janus connection closed while sending {request.janus!r}") from exc
            async with asyncio.timeout(wait):
                answer = await future
        except TimeoutError:
            raise TimeoutError(f"Janus did not answer {request.janus!r} within {wait} s") from None
        finally:
            self._pending.pop(transaction, None)
            self._api.forget(transaction)
        return cast(A, answer)  # JanusApi built the answer type from the request type

    async def info(self) -> ServerInfo:
        return await self.request(Info())

    async def create_session(self) -> JanusSession:
        created: SessionCreated = await self.request(CreateSession())
        session = JanusSession(self, created.session_id)
        self._sessions[session.session_id] = session
        return session

    # --- internals

    def _register(self, handle: JanusHandle) -> None:
        self._handles[(handle.session.session_id, handle.handle_id)] = handle

    async def _read(self) -> None:
        reason = "closed by Parley"
        try:
            async for text in self._ws:
                if not isinstance(text, str):
                    logger.warning("Janus sent a binary frame; dropped")
                    continue
                try:
                    events = self._api.receive(text, self._loop.time())
                except JanusProtocolError as exc:
                    logger.warning("Janus message dropped: %s", exc)
                    continue
                self._dispatch(events)
            if self._ws.close_code is not None and self._ws.close_code != 1000:
                reason = f"closed with code {self._ws.close_code}"
        except websockets.ConnectionClosed as exc:
            reason = f"closed abnormally ({exc.rcvd.code if exc.rcvd else 'no close frame'})"
        finally:
            lost = JanusConnectionLost(f"Janus connection {reason}")
            self._close_reason = lost
            self._dispatch(self._api.connection_lost(reason))
            self._closed.set()
            self._keepalive_wake.set()
            for callback in self._disconnect_callbacks:
                try:
                    callback(lost)
                except Exception:
                    logger.exception("Janus disconnect callback failed")

    def _dispatch(self, events: Iterable[JanusEvent]) -> None:
        for event in events:
            if isinstance(event, Answer | Failed):
                future = self._pending.get(event.transaction)
                if future is None or future.done():
                    if isinstance(event, Failed):
                        logger.warning("Janus refused an unawaited request: %s", event.error)
                    continue
                if isinstance(event, Failed):
                    future.set_exception(event.error)
                else:
                    future.set_result(event)
            elif isinstance(event, HandleEvent):
                handle = self._handles.get((event.session_id, event.handle_id))
                if handle is None:
                    logger.debug("Janus event for an unknown handle dropped: %s", type(event).__name__)
                    continue
                if isinstance(event, HandleLost):
                    self._handles.pop((event.session_id, event.handle_id), None)
                handle._deliver(event)
            elif isinstance(event, SessionTimeout):
                session = self._sessions.pop(event.session_id, None)
                logger.warning("Janus session %s timed out", event.session_id)
                if session is not None:
                    session.timed_out = True

    async def _keepalives(self) -> None:
        while not self.closed:
            self._keepalive_wake.clear()
            due_at = self._api.next_keepalive_at()
            delay = None if due_at is None else max(0.0, due_at - self._loop.time())
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(delay):
                    await self._keepalive_wake.wait()
                continue  # woken: a session appeared or activity moved the deadline
            for keepalive in self._api.keepalives_due(self._loop.time()):
                try:
                    await self.request(keepalive)
                except JanusConnectionLost:
                    return
                except Exception as exc:  # a refused keepalive means the session is gone; say so, go on
                    logger.warning("Janus keepalive for session %s failed: %s", keepalive.session_id, exc)


class JanusSession:
    """A Janus session: the container of handles. Created by :meth:`JanusClient.create_session`."""

    def __init__(self, client: JanusClient, session_id: int) -> None:
        self.client = client
        self.session_id = session_id
        #: Set when Janus destroyed the session for lack of keepalives (its handles are lost then).
        self.timed_out = False

    async def attach(self, plugin: str, *, opaque_id: str | None = None) -> JanusHandle:
        """Attach a handle to ``plugin`` (e.g. ``janus.plugin.videoroom``); one per PeerConnection."""
        attached: HandleAttached = await self.client.request(Attach(self.session_id, plugin, opaque_id))
        handle = JanusHandle(self, attached.handle_id, plugin)
        self.client._register(handle)
        return handle

    async def destroy(self) -> None:
        """Destroy the session and, in Janus, all its handles."""
        await self.client.request(DestroySession(self.session_id))
        self.client._sessions.pop(self.session_id, None)
        for key in [k for k in self.client._handles if k[0] == self.session_id]:
            self.client._handles.pop(key)._deliver(HandleLost(*key, "session destroyed"))


class JanusHandle:
    """A handle: one plugin context and at most one PeerConnection.

    Asynchronous events for the handle go to every queue from :meth:`subscribe` and every listener from
    :meth:`add_listener`, in arrival order; nothing is buffered for a consumer that was not there yet.
    """

    def __init__(self, session: JanusSession, handle_id: int, plugin: str) -> None:
        self.session = session
        self.handle_id = handle_id
        self.plugin = plugin
        self._queues: list[asyncio.Queue[HandleEvent]] = []
        self._listeners: list[HandleListener] = []
        self.lost: HandleLost | None = None

    async def message(
        self, body: Mapping[str, Any], jsep: Jsep | None = None, *, timeout: float | None = None
    ) -> PluginResult:
        """Send ``body`` (and an offer or answer) to the plugin and return its reply."""
        sid = self.session.session_id
        return await self.session.client.request(Message(sid, self.handle_id, body, jsep), timeout=timeout)

    async def trickle(self, candidates: Iterable[IceCandidate] = (), *, completed: bool = False) -> None:
        """Pass a client's ICE candidates (or their end) to Janus."""
        request = Trickle(self.session.session_id, self.handle_id, tuple(candidates), completed)
        await self.session.client.request(request)

    async def hangup(self) -> None:
        """Close the PeerConnection but keep the handle."""
        await self.session.client.request(Hangup(self.session.session_id, self.handle_id))

    async def detach(self) -> None:
        """Close the handle (and its PeerConnection) for good."""
        await self.session.client.request(Detach(self.session.session_id, self.handle_id))
        self.session.client._handles.pop((self.session.session_id, self.handle_id), None)
        self._deliver(HandleLost(self.session.session_id, self.handle_id, "detached"))

    def subscribe(self) -> asyncio.Queue[HandleEvent]:
        """A new queue that receives every later event of this handle; :meth:`unsubscribe` when done."""
        queue: asyncio.Queue[HandleEvent] = asyncio.Queue()
        self._queues.append(queue)
        if self.lost is not None:
            queue.put_nowait(self.lost)
        return queue

    def unsubscribe(self, queue: asyncio.Queue[HandleEvent]) -> None:
        with contextlib.suppress(ValueError):
            self._queues.remove(queue)

    def add_listener(self, listener: HandleListener) -> Callable[[], None]:
        """Call ``listener`` for every later event, in the reader task (so it must not block).

        Returns a function that removes the listener.
        """
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener) if listener in self._listeners else None

    def _deliver(self, event: HandleEvent) -> None:
        if self.lost is not None:
            return
        if isinstance(event, HandleLost):
            self.lost = event
        for queue in self._queues:
            queue.put_nowait(event)
        for listener in list(self._listeners):
            try:
                listener(event)
            except Exception:
                logger.exception("Janus handle listener failed on %s", type(event).__name__)


async def next_event(queue: asyncio.Queue[HandleEvent], kind: type[E], *, timeout: float) -> E:
    """Wait for the next event of type ``kind`` on ``queue``, skipping others.

    Raises :class:`~parley.media.janus_api.JanusConnectionLost` if the handle is lost first.
    """
    async with asyncio.timeout(timeout):
        while True:
            event = await queue.get()
            if isinstance(event, kind):
                return event
            if isinstance(event, HandleLost):
                raise JanusConnectionLost(
                    f"Janus handle lost ({event.reason}) while waiting for {kind.__name__}"
                )
