"""The sans-IO Janus API core, driven directly with the messages Janus 1.1.2 sends (recorded from a real one
by tests/integration/test_janus.py's scenarios)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from parley.media.janus_api import (
    Acked,
    Attach,
    CreateSession,
    Failed,
    HandleAttached,
    HandleLost,
    HangupEvent,
    IceCandidate,
    Info,
    JanusApi,
    JanusConnectionLost,
    JanusError,
    JanusProtocolError,
    Jsep,
    Keepalive,
    MediaEvent,
    Message,
    PluginEvent,
    PluginResult,
    ServerInfo,
    SessionCreated,
    SessionTimeout,
    Trickle,
    WebrtcUp,
)

SECRET = "s3cret-do-not-log"
SID, HID = 2935072732522899, 8515881899955646
VIDEOROOM = "janus.plugin.videoroom"


def receive(api: JanusApi, message: dict[str, Any], now: float = 0.0) -> list[object]:
    return list(api.receive(json.dumps(message), now))


def with_session(now: float = 0.0) -> JanusApi:
    api = JanusApi(SECRET)
    tx, _ = api.send(CreateSession(), now)
    receive(api, {"janus": "success", "transaction": tx, "data": {"id": SID}}, now)
    tx, _ = api.send(Attach(SID, VIDEOROOM), now)
    receive(api, {"janus": "success", "session_id": SID, "transaction": tx, "data": {"id": HID}}, now)
    return api


def test_every_request_carries_a_fresh_transaction_and_the_api_secret() -> None:
    api = JanusApi(SECRET)
    sent = [json.loads(api.send(request, 0.0)[1]) for request in (Info(), CreateSession(), Keepalive(SID))]

    assert [m["janus"] for m in sent] == ["info", "create", "keepalive"]
    assert all(m["apisecret"] == SECRET for m in sent)
    assert len({m["transaction"] for m in sent}) == 3
    assert sent[2]["session_id"] == SID


def test_create_and_attach_answer_with_ids_and_the_core_tracks_them() -> None:
    api = JanusApi(SECRET)
    tx, _ = api.send(CreateSession(), 0.0)
    assert receive(api, {"janus": "success", "transaction": tx, "data": {"id": SID}}) == [
        SessionCreated(tx, SID)
    ]
    tx, text = api.send(Attach(SID, VIDEOROOM), 0.0)
    assert json.loads(text)["plugin"] == VIDEOROOM
    answer = receive(api, {"janus": "success", "session_id": SID, "transaction": tx, "data": {"id": HID}})
    assert answer == [HandleAttached(tx, HID)]
    assert api.sessions == {SID: frozenset({HID})}


def test_a_plugin_message_ends_with_the_event_after_the_ack() -> None:
    api = with_session()
    offer = Jsep("offer", "v=0\r\n", e2ee=True, trickle=False)
    tx, text = api.send(Message(SID, HID, {"request": "publish"}, offer), 0.0)
    assert json.loads(text)["jsep"] == {"type": "offer", "sdp": "v=0\r\n", "e2ee": True, "trickle": False}

    assert receive(api, {"janus": "ack", "session_id": SID, "transaction": tx}) == []
    data = {"videoroom": "event", "room": 1, "configured": "ok"}
    (answer,) = receive(
        api,
        {
            "janus": "event",
            "session_id": SID,
            "transaction": tx,
            "sender": HID,
            "plugindata": {"plugin": VIDEOROOM, "data": data},
            "jsep": {"type": "answer", "sdp": "v=0\r\n", "e2ee": True},
        },
    )
    assert answer == PluginResult(tx, SID, HID, VIDEOROOM, data, Jsep("answer", "v=0\r\n", e2ee=True))


def test_the_answer_event_may_overtake_the_ack() -> None:
    # The plugin's thread can push its event before the core's thread sends the ack.
    api = with_session()
    tx, _ = api.send(Message(SID, HID, {"request": "join"}), 0.0)
    plugindata = {"plugin": VIDEOROOM, "data": {"videoroom": "joined"}}
    event = {"janus": "event", "session_id": SID, "transaction": tx, "sender": HID, "plugindata": plugindata}
    assert [type(e) for e in receive(api, event)] == [PluginResult]
    assert receive(api, {"janus": "ack", "session_id": SID, "transaction": tx}) == []


def test_a_synchronous_plugin_reply_is_a_success_with_plugindata() -> None:
    api = with_session()
    tx, _ = api.send(Message(SID, HID, {"request": "exists", "room": 1}), 0.0)
    data = {"videoroom": "success", "room": 1, "exists": True}
    reply = {"janus": "success", "session_id": SID, "transaction": tx, "sender": HID}
    (answer,) = receive(api, reply | {"plugindata": {"plugin": VIDEOROOM, "data": data}})
    assert isinstance(answer, PluginResult) and answer.data == data and answer.jsep is None


def test_an_error_reply_fails_the_request_with_its_code() -> None:
    api = JanusApi("wrong")
    tx, _ = api.send(CreateSession(), 0.0)
    reason = "Unauthorized request (wrong or missing secret/token)"
    (failed,) = receive(api, {"janus": "error", "transaction": tx, "error": {"code": 403, "reason": reason}})
    assert isinstance(failed, Failed) and isinstance(failed.error, JanusError)
    assert (failed.error.code, failed.error.reason) == (403, reason)


def test_asynchronous_events_are_typed_per_handle() -> None:
    api = with_session()
    base = {"session_id": SID, "sender": HID}
    data = {"videoroom": "event", "room": 1, "unpublished": 11}
    plugindata = {"plugin": VIDEOROOM, "data": data}
    events = [
        *receive(api, {"janus": "webrtcup"} | base),
        *receive(api, {"janus": "media", "mid": "1", "type": "video", "receiving": True} | base),
        *receive(api, {"janus": "event", "plugindata": plugindata} | base),
        *receive(api, {"janus": "hangup", "reason": "Close PC"} | base),
        *receive(api, {"janus": "somethingnew"} | base),
    ]
    assert events == [
        WebrtcUp(SID, HID),
        MediaEvent(SID, HID, "1", "video", True),
        PluginEvent(SID, HID, VIDEOROOM, data),
        HangupEvent(SID, HID, "Close PC"),
    ]


def test_a_session_timeout_loses_its_handles() -> None:
    api = with_session()
    assert receive(api, {"janus": "timeout", "session_id": SID}) == [
        SessionTimeout(SID),
        HandleLost(SID, HID, "session timed out"),
    ]
    assert api.sessions == {}


def test_losing_the_connection_fails_pending_requests_and_loses_handles() -> None:
    api = with_session()
    tx, _ = api.send(Message(SID, HID, {"request": "exists", "room": 1}), 0.0)

    failed, lost = api.connection_lost("closed abnormally")
    assert isinstance(failed, Failed) and failed.transaction == tx
    assert isinstance(failed.error, JanusConnectionLost) and "'message'" in str(failed.error)
    assert lost == HandleLost(SID, HID, "connection lost (closed abnormally)")
    with pytest.raises(JanusConnectionLost):
        api.send(Info(), 1.0)


def test_keepalives_fall_due_only_after_a_quiet_interval() -> None:
    api = JanusApi(SECRET, keepalive_interval=25.0)
    assert api.next_keepalive_at() is None
    tx, _ = api.send(CreateSession(), 100.0)
    receive(api, {"janus": "success", "transaction": tx, "data": {"id": SID}}, now=100.0)
    assert api.next_keepalive_at() == 125.0
    assert api.keepalives_due(124.0) == []

    api.send(Message(SID, HID, {"request": "exists", "room": 1}), 120.0)  # any request is activity
    assert api.next_keepalive_at() == 145.0
    (keepalive,) = api.keepalives_due(145.0)
    tx, _ = api.send(keepalive, 145.0)
    assert receive(api, {"janus": "ack", "session_id": SID, "transaction": tx}) == [Acked(tx)]
    assert api.next_keepalive_at() == 170.0


def test_trickle_carries_candidates_or_their_end() -> None:
    api = with_session()
    candidate = IceCandidate("candidate:1 1 udp 2015363327 127.0.1.1 30077 typ host", "0", 0)
    _, text = api.send(Trickle(SID, HID, (candidate,)), 0.0)
    assert json.loads(text)["candidates"] == [
        {"candidate": candidate.candidate, "sdpMid": "0", "sdpMLineIndex": 0}
    ]
    _, text = api.send(Trickle(SID, HID, completed=True), 0.0)
    assert json.loads(text)["candidate"] == {"completed": True}
    with pytest.raises(ValueError, match="either candidates or completed"):
        Trickle(SID, HID)


def test_unreadable_messages_raise_protocol_errors() -> None:
    api = JanusApi(SECRET)
    with pytest.raises(JanusProtocolError):
        api.receive("not json", 0.0)
    with pytest.raises(JanusProtocolError):
        api.receive("[1, 2]", 0.0)
    tx, _ = api.send(CreateSession(), 0.0)
    with pytest.raises(JanusProtocolError, match="'data'"):
        receive(api, {"janus": "success", "transaction": tx})


def test_server_info_names_what_janus_loaded() -> None:
    api = JanusApi(SECRET)
    tx, _ = api.send(Info(), 0.0)
    (info,) = receive(
        api,
        {
            "janus": "server_info",
            "transaction": tx,
            "version_string": "1.1.2",
            "api_secret": True,
            "log-path": "/tmp/janus/janus.log",
            "plugins": {"janus.plugin.videoroom": {}},
            "transports": {"janus.transport.websockets": {}},
            "events": {},
            "loggers": {},
        },
    )
    assert info == ServerInfo(
        tx,
        "1.1.2",
        ("janus.plugin.videoroom",),
        ("janus.transport.websockets",),
        (),
        (),
        "/tmp/janus/janus.log",
        True,
    )
