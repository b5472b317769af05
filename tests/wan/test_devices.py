"""SDK devices on a WAN run: their media and signalling really cross their delegation's router."""

from __future__ import annotations

from pathlib import Path

import pytest
from calls import PATTERNS, joined, local_server, receiving, summit_links, until
from wan import devices
from wan.profiles import named
from wan.topology import SERVER_ADDRESS, Wan

from parley.summit.model import Role

pytestmark = pytest.mark.anyio


async def test_devices_of_two_delegations_call_each_other_through_their_routers(tmp_path: Path) -> None:
    wan = Wan(named("transcontinental"), seed=14)
    try:
        with devices.offices(wan, ["Delegation A", "Delegation B"]):
            async with local_server(tmp_path / "parley", host=SERVER_ADDRESS) as server:
                links = summit_links(
                    server, [("Delegation A", Role.PRINCIPAL), ("Delegation B", Role.PRINCIPAL)]
                )
                async with joined(links[0], "A") as a, joined(links[1], "B1") as b1:
                    await until(
                        lambda: (
                            receiving(a.feeds.get(b1.user_id), PATTERNS["B1"])
                            and receiving(b1.feeds.get(a.user_id), PATTERNS["A"])
                        ),
                        30,
                        "each device to decode the other through the WAN",
                    )
                    for client, site in (
                        (a, devices.office("Delegation A")),
                        (b1, devices.office("Delegation B")),
                    ):
                        assert site is not None and client.publisher is not None
                        gatherer = client.publisher.getTransceivers()[
                            0
                        ].sender.transport.transport.iceGatherer
                        assert {c.ip for c in gatherer.getLocalCandidates()} == {site.lan_address}
                    sites = list(wan.sites)
    finally:
        wan.close()
    for site in sites:
        # The media both ways went through each router's impairer, which dropped some of it.
        assert site.overhead["received"] > 200 and site.overhead["dropped"] > 0, site.overhead
