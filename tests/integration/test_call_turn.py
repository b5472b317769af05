"""A delegation whose office firewall forwards no UDP joins through a TURN relay, and the server is
still blind to what it relays.

The test builds its own network whatever `--wan` says (on the profile `--wan` names, else without
impairment): delegation A behind a NAT router, delegation B behind one that drops all UDP, and
Debian's coturn on the server's address. The Parley server hands each device TURN credentials of
its own (minted from the secret it shares with coturn); B's devices can only reach Janus through
the relay, over TCP.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from aiortc import RTCPeerConnection
from calls import PATTERNS, THREE_DEVICES, assert_blind, joined, local_server, receiving, summit_links, until
from wan import devices
from wan.profiles import Profile
from wan.relay import Relay, relay
from wan.topology import SERVER_ADDRESS, Wan

from parley.sdk.client import ParleyClient

pytestmark = pytest.mark.anyio


@pytest.fixture
def turn(tmp_path: Path) -> Iterator[Relay]:
    with relay(tmp_path / "turn") as running:
        yield running


def local_candidate_type(pc: RTCPeerConnection | None) -> str:
    """The type of this side's candidate in the pair ICE nominated for the connection."""
    assert pc is not None
    ice = pc.getTransceivers()[0].receiver.transport.transport
    pair = ice._connection._nominated[1]  # aioice's nominated pair for the one (bundled, muxed) component
    return str(pair.local_candidate.type)


def connections(client: ParleyClient) -> list[RTCPeerConnection | None]:
    return [client.publisher, *(feed.pc for feed in client.feeds.values())]


async def test_a_delegation_behind_a_udp_blocking_firewall_joins_through_turn_and_the_server_stays_blind(
    tmp_path: Path, wan_profile: Profile | None, turn: Relay
) -> None:
    wan = Wan(wan_profile, seed=14)
    try:
        with devices.offices(wan, ["Delegation A", "Delegation B"], udp_blocked={"Delegation B"}):
            async with local_server(
                tmp_path / "parley", host=SERVER_ADDRESS, turn_servers=[turn.tcp_url], turn_secret=turn.secret
            ) as server:
                links = summit_links(server, THREE_DEVICES)
                async with (
                    joined(links[0], "A") as a,
                    joined(links[1], "B1") as b1,
                    joined(links[2], "B2") as b2,
                ):
                    clients = {"A": a, "B1": b1, "B2": b2}
                    await until(
                        lambda: all(
                            receiving(client.feeds.get(other.user_id), PATTERNS[name])
                            for client in clients.values()
                            for name, other in clients.items()
                            if other is not client
                        ),
                        45,
                        "every device to decode every other",
                    )
                    # B's devices reached Janus only through the relay, with their own credentials,
                    # which coturn accepted.
                    for client in (b1, b2):
                        assert turn.allocated(str(client.user_id))
                        assert {local_candidate_type(pc) for pc in connections(client)} == {"relay"}
                    await assert_blind(server, b1, a, PATTERNS["B1"])
    finally:
        wan.close()


async def test_janus_gathers_relay_candidates_with_credentials_from_the_secret(
    tmp_path: Path, turn: Relay
) -> None:
    async with local_server(
        tmp_path / "parley",
        turn_servers=[turn.tcp_url],
        turn_secret=turn.secret,
        janus_turn_server=turn.udp_url,
    ) as server:
        links = summit_links(server, THREE_DEVICES[:2])
        async with joined(links[0], "A") as a, joined(links[1], "B1") as b1:
            await until(lambda: receiving(b1.feeds.get(a.user_id), PATTERNS["A"]), 30, "B1 to receive A")
            # coturn took the credentials the server wrote into Janus's config.
            await until(lambda: turn.allocated("janus"), 10, "Janus to allocate a relay at coturn")
