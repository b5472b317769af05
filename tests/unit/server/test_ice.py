"""The ICE servers devices are told about, and the TURN REST API credentials minted for each."""

from __future__ import annotations

import pytest

from parley.protocol.server_ops import IceServer
from parley.server.ice import JANUS_TURN_LIFETIME, IceServers, janus_turn_server, turn_credential

TURN = ("turn:turn.example.org:3478?transport=udp", "turns:turn.example.org:5349?transport=tcp")


def test_a_credential_is_the_expiry_and_user_signed_with_hmac_sha1_of_the_secret() -> None:
    # Known answer, from `printf %s 1700000000:42 | openssl dgst -binary -sha1 -hmac north-wind | base64`.
    expected = ("1700000000:42", "6hwnrZiUDHkxY5CYq4XHhx2DHas=")
    assert turn_credential("north-wind", "42", 1_700_000_000) == expected


def test_each_device_gets_credentials_of_its_own_that_expire_after_the_ttl() -> None:
    ice = IceServers("stun.example.org:3478", TURN, turn_secret="north-wind", turn_ttl=3600)
    servers = ice.for_device(42, now=1_699_996_400.7)
    username, password = turn_credential("north-wind", "42", 1_700_000_000)
    assert servers == [
        IceServer(urls="stun:stun.example.org:3478"),
        IceServer(urls=TURN[0], username=username, credential=password),
        IceServer(urls=TURN[1], username=username, credential=password),
    ]
    assert ice.for_device(43, now=1_699_996_400)[1].username == "1700000000:43"


def test_without_turn_a_device_gets_the_stun_server_or_nothing() -> None:
    stun = IceServers("stun.example.org:3478")
    assert stun.for_device(1, now=0) == [IceServer(urls="stun:stun.example.org:3478")]
    assert IceServers().for_device(1, now=0) == []


def test_the_secret_is_never_in_the_repr() -> None:
    assert "north-wind" not in repr(IceServers(turn_servers=TURN, turn_secret="north-wind"))


@pytest.mark.parametrize(
    ("turn_servers", "secret", "ttl", "rule"),
    [
        (TURN, "", 86400, "go together"),
        ((), "north-wind", 86400, "go together"),
        (("stun:stun.example.org",), "north-wind", 86400, "turn: and turns: URLs only"),
        (TURN, "north-wind", 10, "at least 60 seconds"),
    ],
)
def test_settings_that_cannot_work_are_refused_at_start(
    turn_servers: tuple[str, ...], secret: str, ttl: int, rule: str
) -> None:
    with pytest.raises(ValueError, match=rule):
        IceServers(turn_servers=turn_servers, turn_secret=secret, turn_ttl=ttl)


def test_janus_relays_through_the_turn_server_it_is_given_with_credentials_from_the_secret() -> None:
    turn = janus_turn_server("turn:turn.example.org:3478?transport=tcp", "north-wind", now=1_700_000_000)
    expires = 1_700_000_000 + JANUS_TURN_LIFETIME
    assert (turn.host, turn.port, turn.transport) == ("turn.example.org", 3478, "tcp")
    assert (turn.username, turn.password) == turn_credential("north-wind", "janus", expires)
    assert janus_turn_server("turns:turn.example.org:5349", "north-wind", now=0).transport == "tls"


@pytest.mark.parametrize(
    ("url", "secret", "rule"),
    [
        ("turn:turn.example.org:3478", "", "needs turn_secret"),
        ("stun:turn.example.org:3478", "north-wind", "must be turn:HOST:PORT"),
        ("turn:turn.example.org", "north-wind", "must be turn:HOST:PORT"),
        ("turn:turn.example.org:3478?transport=sctp", "north-wind", "must be turn:HOST:PORT"),
    ],
)
def test_a_janus_turn_server_that_cannot_work_is_refused_at_start(url: str, secret: str, rule: str) -> None:
    with pytest.raises(ValueError, match=rule):
        janus_turn_server(url, secret, now=0)
