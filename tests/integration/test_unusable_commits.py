"""A member that keeps forcing rejoins, end to end: real server, real Janus, real DAVE members.

The attacker is an SDK device whose DAVE member corrupts the membership tag of every commit it
sends (`support.TagCorruptingMember`): the server cannot check the tag, the other members can.
Winning a commit race is a matter of timing; here the honest devices simply let the attacker win
every race it takes part in (they hold back their own commit while it is in their group), which
is the worst case the server has to handle.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import pytest
from calls import frames_of, publishing, summit_links, until
from support import TagCorruptingMember

from parley.e2ee.gateway import UNUSABLE_COMMIT_LIMIT
from parley.e2ee.opcodes import Op
from parley.media.sources import ToneAudioTrack
from parley.protocol.codes import ErrorCode
from parley.protocol.dave_ops import DaveDeviceOp
from parley.sdk import client as sdk_client
from parley.sdk.client import ParleyClient
from parley.server.runtime import ParleyServer
from parley.summit.model import Role

pytestmark = pytest.mark.anyio


def loses_races_to(client: ParleyClient, attacker: int) -> None:
    """From now on the client holds back its own commit (op 28) while the attacker is in its group
    and still announced: the attacker's commit wins every race they both run."""
    send = client._send_raw

    async def send_unless_racing(message: bytes | DaveDeviceOp) -> None:
        member = client.member
        racing = member is not None and attacker in member.roster and attacker in member._recognized
        if isinstance(message, bytes) and message[:1] == bytes([Op.COMMIT_WELCOME]) and racing:
            return
        await send(message)

    client._send_raw = send_unless_racing  # type: ignore[method-assign]


def settled(devices: list[ParleyClient]) -> bool:
    codes = {d.group_code() for d in devices}
    return len(codes) == 1 and None not in codes


@contextlib.asynccontextmanager
async def honest(
    link: str, name: str, tone: float, attacker: int | None = None
) -> AsyncIterator[ParleyClient]:
    client = ParleyClient(link, [name], audio=ToneAudioTrack(tone))
    if attacker is not None:
        loses_races_to(client, attacker)
    await client.join()
    try:
        yield client
    finally:
        await client.close()


async def test_a_device_whose_commits_nobody_can_use_is_removed_and_the_others_decrypt_each_other(
    parley: ParleyServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    links = summit_links(
        parley,
        [("Delegation A", Role.DELEGATE)] * 3
        + [("Delegation B", Role.PRESS)]
        + [("Delegation B", Role.DELEGATE)] * 3,
    )
    a_link, b_link, c_link, press_link, *newcomer_links = links
    async with contextlib.AsyncExitStack() as stack:
        a = await stack.enter_async_context(honest(a_link, "A", 440.0))
        b = await stack.enter_async_context(honest(b_link, "B", 660.0))
        c = await stack.enter_async_context(honest(c_link, "C", 880.0))
        with monkeypatch.context() as patch:  # the press device's client runs the corrupting member
            patch.setattr(sdk_client, "DaveMember", TagCorruptingMember)
            attacker = ParleyClient(press_link, ["Press"])
            await attacker.join()
        stack.push_async_callback(attacker.close)
        for client in (a, b, c):
            loses_races_to(client, attacker.user_id)
        await until(
            lambda: attacker.group_code() is not None and attacker.group_code() == a.group_code(),
            30,
            "the attacker to be in the group",
        )

        # Each device that arrives starts a commit race, which the attacker wins with a commit no
        # one else can use; the others report it and rejoin.
        devices = [a, b, c]
        for link, tone in zip(newcomer_links, (1000.0, 1200.0, 1400.0), strict=True):
            devices.append(
                await stack.enter_async_context(honest(link, f"N{tone:.0f}", tone, attacker.user_id))
            )
            await until(
                lambda: attacker.ended is not None or settled(devices),
                30,
                "the newcomer's commit race to settle",
            )
            if attacker.ended is not None:
                break

        assert attacker.ended is not None and attacker.ended.code == ErrorCode.UNUSABLE_COMMITS
        expelled = [d for _, kind, d in parley.store.read_log(a.summit.summit_id) if kind == "expelled"]
        assert expelled == [
            {"user_id": attacker.user_id, "reason": "unusable_commits", "commits": UNUSABLE_COMMIT_LIMIT}
        ]

        # The honest devices end up in one group without it, and each decrypts the others.
        ids = {d.user_id for d in devices}

        def one_group() -> bool:
            codes = {d.group_code() for d in devices}
            return (
                len(codes) == 1
                and None not in codes
                and all(set(d.member.roster) == ids for d in devices if d.member)
            )

        await until(one_group, 30, "the honest devices to form one group without the attacker")
        await until(
            lambda: all(publishing(d, *[o for o in devices if o is not d]) for d in devices),
            30,
            "everyone to publish",
        )
        before = {
            (d.user_id, o.user_id): frames_of(d, o.user_id) for d in devices for o in devices if o is not d
        }
        await until(
            lambda: all(
                frames_of(d, o.user_id) > before[(d.user_id, o.user_id)] + 25
                for d in devices
                for o in devices
                if o is not d
            ),
            30,
            "every device to decrypt every other's audio in the new group",
        )
