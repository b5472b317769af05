"""ICE consent freshness (RFC 7675) that a 600 ms round trip does not end.

Once connected, an ICE agent checks every few seconds that its peer still wants its packets, and
stops sending when the peer has not answered for 30 s. aioice sends each check once and gives it
500 ms (its initial STUN retransmission timeout): on a satellite path (600 ms of round trip) no
answer ever comes in time, six checks in a row fail, and aioice closes the connection, taking the
peer connection with it, about 30 s after it came up. Every SDK device's connections died so,
publisher and subscriptions alike, although Janus answered every check.

Here each check waits as long as STUN's retransmissions allow (3.5 s, resent at 0.5, 1.5 s), so
an answer counts whenever it comes in that time; consent expires as RFC 7675 says, 30 s after
the last answer, whatever the round trip. `install()` puts it in aioice's place; the SDK calls it
before any peer connection exists.
"""

from __future__ import annotations

import asyncio
import logging
import random
from dataclasses import dataclass

from aioice import stun
from aioice.ice import CandidatePair, Connection

log = logging.getLogger(__name__)

aioice_query_consent = Connection.query_consent  # aioice's own, kept for the test that shows why

CHECK_INTERVAL = 5.0  # s: between checks, randomised by ±20 % (RFC 7675 section 5.1)
CHECK_RETRANSMISSIONS = 2  # a check is sent at 0 s, 0.5 s and 1.5 s, and waits until 3.5 s
CONSENT_LIFETIME = 30.0  # s: without an answer for this long, consent has expired (RFC 7675)


class AioiceMismatch(RuntimeError):
    """aioice no longer works as this module assumes; the consent checks need revisiting."""


@dataclass
class Consent:
    """When the peer last answered; sans-IO, so its rule is tested without a network."""

    last_answer: float

    def answered(self, now: float) -> None:
        self.last_answer = max(self.last_answer, now)

    def expired(self, now: float) -> bool:
        return now - self.last_answer >= CONSENT_LIFETIME


async def _check(connection: Connection, pair: CandidatePair) -> bool:
    """One consent check on a nominated pair: did the peer answer it?"""
    assert connection.remote_password is not None
    try:
        await pair.protocol.request(
            connection.build_request(pair, nominate=False),
            pair.remote_addr,
            integrity_key=connection.remote_password.encode("utf8"),
            retransmissions=CHECK_RETRANSMISSIONS,
        )
    except stun.TransactionError:
        return False
    return True


async def query_consent(self: Connection) -> None:
    """What `Connection.connect` runs once connected: check, and close when consent expired."""
    loop = asyncio.get_running_loop()
    consent = Consent(loop.time())
    while True:
        await asyncio.sleep(CHECK_INTERVAL * random.uniform(0.8, 1.2))  # noqa: S311 (spread, not secrecy)
        pairs = list(self._nominated.values())
        answers = await asyncio.gather(*(_check(self, pair) for pair in pairs))
        if pairs and all(answers):
            consent.answered(loop.time())
        if consent.expired(loop.time()):
            log.info("ICE consent expired: no answer from the peer in %.0f s", CONSENT_LIFETIME)
            self._query_consent_task = None  # close() must not wait for this very task
            await self.close()
            return


def install() -> None:
    """Replace aioice's consent checks with these, after checking aioice still starts them the
    same way (`connect` runs `self.query_consent()`, pairs live in `_nominated`)."""
    if "query_consent" not in Connection.connect.__code__.co_names:
        raise AioiceMismatch("aioice's Connection.connect no longer starts query_consent")
    if "_nominated" not in Connection.__init__.__code__.co_names:
        raise AioiceMismatch("aioice's Connection no longer keeps its nominated pairs in _nominated")
    Connection.query_consent = query_consent  # type: ignore[method-assign]
