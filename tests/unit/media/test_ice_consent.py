"""ICE consent freshness over a slow path: real aioice connections on the loopback, whose answers a
fake network holds back (the controlled side's STUN sends are delayed); the intervals are shrunk
so that thirty seconds of consent take one."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

import aioice.ice
import pytest
from aioice import stun
from aioice.ice import Connection

from parley.media import ice_consent
from parley.media.ice_consent import CONSENT_LIFETIME, Consent, aioice_query_consent

pytestmark = pytest.mark.anyio

INTERVAL = 0.1  # s, for aioice's checks and these alike
LIFETIME = 1.0  # s: consent's thirty seconds, shrunk


def test_consent_expires_a_lifetime_after_the_last_answer_whenever_checks_failed_between() -> None:
    consent = Consent(last_answer=100.0)
    assert not consent.expired(100.0 + CONSENT_LIFETIME - 0.1)
    consent.answered(120.0)
    assert not consent.expired(120.0 + CONSENT_LIFETIME - 0.1)
    assert consent.expired(120.0 + CONSENT_LIFETIME)
    consent.answered(110.0)  # an answer that comes late does not move it back
    assert consent.last_answer == 120.0


@pytest.fixture
def shrunk(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(aioice.ice, "CONSENT_INTERVAL", INTERVAL)
    monkeypatch.setattr(ice_consent, "CHECK_INTERVAL", INTERVAL)
    monkeypatch.setattr(ice_consent, "CONSENT_LIFETIME", LIFETIME)
    monkeypatch.setattr(aioice.ice, "get_host_addresses", lambda use_ipv4, use_ipv6: ["127.0.0.1"])


@pytest.fixture
def theirs(monkeypatch: pytest.MonkeyPatch) -> None:
    """aioice's own checks, for this test only (a client made earlier in the run installed ours)."""
    monkeypatch.setattr(Connection, "query_consent", aioice_query_consent)


@pytest.fixture
def ours(theirs: None) -> None:
    """These checks in aioice's place, as the SDK puts them, for this test only."""
    ice_consent.install()
    assert Connection.query_consent is ice_consent.query_consent


async def _send_later(delay: Callable[[], float], connection: Connection) -> None:
    """Every STUN message `connection` sends from now on leaves `delay()` s late (negative: never);
    one still held when the connection has closed is dropped, as a network would."""
    loop = asyncio.get_running_loop()
    for protocol in connection._protocols:
        send = protocol.send_stun

        def fire(
            message: stun.Message, addr: tuple[str, int], protocol: Any = protocol, send: Any = send
        ) -> None:
            if not protocol.transport.is_closing():
                send(message, addr)

        def late(message: stun.Message, addr: tuple[str, int], fire: Any = fire) -> None:
            wait = delay()
            if wait >= 0:
                loop.call_later(wait, fire, message, addr)

        protocol.send_stun = late  # type: ignore[method-assign]


@pytest.fixture
async def pair(shrunk: None) -> AsyncIterator[tuple[Connection, Connection]]:
    controlling, controlled = Connection(ice_controlling=True), Connection(ice_controlling=False)
    await asyncio.gather(controlling.gather_candidates(), controlled.gather_candidates())
    for near, far in ((controlling, controlled), (controlled, controlling)):
        for candidate in far.local_candidates:
            await near.add_remote_candidate(candidate)
        await near.add_remote_candidate(None)
        near.remote_username, near.remote_password = far.local_username, far.local_password
    await asyncio.gather(controlling.connect(), controlled.connect())
    yield controlling, controlled
    await controlling.close()
    await controlled.close()


async def _closed_within(connection: Connection, seconds: float) -> bool:
    """Whether aioice closed the connection (its recv() ends) within `seconds`."""
    try:
        async with asyncio.timeout(seconds):
            while True:
                await connection.recv()
    except TimeoutError:
        return False
    except ConnectionError:
        return True


async def test_aioice_alone_drops_a_connection_whose_answers_a_fake_path_holds_600_ms(
    theirs: None, pair: tuple[Connection, Connection]
) -> None:
    """Why the module exists: if aioice ever waits long enough itself, it can go."""
    controlling, controlled = pair
    await _send_later(lambda: 0.6, controlled)
    # Six checks in a row fail, each after its interval and aioice's 500 ms.
    assert await _closed_within(controlling, 6 * (1.2 * INTERVAL + 0.5) + 1.0)


async def test_consent_holds_while_a_fake_path_holds_the_answers_600_ms(
    ours: None, pair: tuple[Connection, Connection]
) -> None:
    controlling, controlled = pair
    await _send_later(lambda: 0.6, controlled)
    assert not await _closed_within(controlling, 2 * LIFETIME)


async def test_consent_expires_a_lifetime_after_the_peer_behind_a_fake_path_stopped_answering(
    ours: None, pair: tuple[Connection, Connection]
) -> None:
    controlling, controlled = pair
    await _send_later(lambda: -1.0, controlled)  # answers nothing from now on
    assert await _closed_within(controlling, LIFETIME + 2 * INTERVAL + 3.5 + 1.0)
