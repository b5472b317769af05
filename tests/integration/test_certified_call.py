"""Delegation-certified identities with SDK devices, end to end: `parley serve` with its own Janus,
officer consoles and devices of two delegations enrolling through the server, real DAVE (dave.py),
real Ed25519 delegation keys. Each test checks what a participant would: every member certified,
media decoding, or the alarm naming the member and no frame sent."""

from __future__ import annotations

from pathlib import Path

import pytest
from calls import receiving, until
from certified import certified_summit, closing, enroll, officer_console

from parley.sdk.client import ParleyClient
from parley.server.runtime import ParleyServer

pytestmark = pytest.mark.anyio

PATTERNS = {"Officer A": 3, "Officer B": 5, "Ann": 9, "Boris": 12}


def all_certified(clients: list[ParleyClient]) -> bool:
    return all(
        c.certified is not None
        and c.certified.certification.summary() == f"all {len(clients)} members certified"
        and not c.holding
        for c in clients
    )


async def test_two_delegations_enroll_their_devices_and_every_client_sees_all_members_certified(
    parley: ParleyServer, tmp_path: Path
) -> None:
    async with closing(certified_summit(parley, tmp_path / "devices")) as summit:
        officer_a = await officer_console(summit, "Delegation A", "Officer A", PATTERNS["Officer A"])
        officer_b = await officer_console(summit, "Delegation B", "Officer B", PATTERNS["Officer B"])
        ann = summit.client("Delegation A", "Ann", PATTERNS["Ann"])
        boris = summit.client("Delegation B", "Boris", PATTERNS["Boris"])
        for device, console in ((ann, officer_a), (boris, officer_b)):
            await device.join()
            assert device.enrollment_code is not None and not device.admitted.is_set()
            await enroll(console, device)
        clients = [officer_a, officer_b, ann, boris]
        await until(lambda: all_certified(clients), 20, "every client to show all 4 members certified")

        def everyone_receives() -> bool:
            return all(
                receiving(me.feeds.get(other.user_id), PATTERNS[other.people[0]])
                for me in clients
                for other in clients
                if other is not me
            )

        await until(everyone_receives, 40, "every device to decode every other device's media")
        assert all(c.alarms == [] for c in clients), [c.alarms for c in clients]
        assert (tmp_path / "devices" / "Ann.key.certificates.json").exists()
