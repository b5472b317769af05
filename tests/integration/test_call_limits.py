"""What one link, and one address, can bring into a summit: devices per invitation, names, the
lobby as the host sees it, and the rate of connections and identifies. Real server and Janus,
SDK devices."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import websockets
from calls import PATTERNS, THREE_DEVICES, joined, local_server, receiving, summit_links, until
from support import identify_data

from parley.protocol.codes import CloseCode, ErrorCode
from parley.protocol.fields import MAX_NAME, MAX_PEOPLE
from parley.protocol.server_ops import LobbyJoinedOp, LobbyLeftOp, ParleyServerOp, encode
from parley.sdk.client import InviteLink, JoinError, ParleyClient
from parley.server.room_policy import MAX_LOBBY
from parley.server.runtime import ParleyServer
from parley.summit.course import Admission
from parley.summit.model import Role

pytestmark = pytest.mark.anyio

# The most a lobby op may weigh, whatever the names (tests/unit/server/test_room_admission_*).
MAX_LOBBY_OP = 8 * 1024
# Every name at its longest, in characters that JSON escapes to 12 bytes each.
WIDEST_PEOPLE = [chr(0x1F600 + i) * MAX_NAME for i in range(MAX_PEOPLE)]


async def refused(link: str, people: list[str] | None = None) -> JoinError:
    with pytest.raises(JoinError) as caught:
        await ParleyClient(link, people or ["Someone"]).join()
    return caught.value


async def test_a_second_device_on_a_one_device_link_is_refused_until_the_first_leaves(
    parley: ParleyServer,
) -> None:
    links = summit_links(parley, THREE_DEVICES[:2])
    async with joined(links[0], "A") as a:
        async with joined(links[1], "B1") as b1:
            await until(lambda: receiving(a.feeds.get(b1.user_id), PATTERNS["B1"]), 30, "A to receive B1")
            second = await refused(links[1])
            assert second.code == "invitation_in_use" and "one device at a time" in str(second)
            frames = a.feeds[b1.user_id].video_frames
            await until(lambda: a.feeds[b1.user_id].video_frames > frames + 10, 10, "the call to go on")
            assert set(a.roster) == {a.user_id, b1.user_id}
        # B1 left: its link admits one device again.
        again = ParleyClient(links[1], ["B1 on another device"])
        await again.join()
        await until(lambda: again.user_id in a.roster, 10, "A to see the link's new device")
        await again.close()


async def test_an_organiser_lets_a_link_admit_more_devices_and_no_more(parley: ParleyServer) -> None:
    admin = {"Authorization": f"Bearer {parley.admin_token}"}
    (host_link,) = summit_links(parley, [("Delegation A", Role.HOST)], admission=Admission.HOST)
    summit_id = InviteLink.parse(host_link).summit_id
    summit = parley.store.get_summit(summit_id)
    assert summit is not None
    invitations = f"/api/summits/{summit_id}/invitations"
    body = {"delegation_id": summit.delegations[1].delegation_id, "role": "press"}
    async with httpx.AsyncClient(base_url=parley.settings.base_url, trust_env=False) as http:
        for bad in (0, 101, "many"):
            made = await http.post(invitations, json=body | {"max_devices": bad}, headers=admin)
            assert made.status_code == 422, bad
        made = await http.post(invitations, json=body | {"max_devices": 2}, headers=admin)
        assert made.status_code == 201 and made.json()["max_devices"] == 2
        default = await http.post(invitations, json=body, headers=admin)
        assert default.json()["max_devices"] == 1
    pool = made.json()["link"]
    async with joined(host_link, "A") as host:
        cameras = [ParleyClient(pool, [f"Camera {i}"]) for i in (1, 2)]
        for camera in cameras:
            await camera.join()
        await until(lambda: len(host.lobby) == 2, 10, "the host to see both press devices waiting")
        third = await refused(pool)
        assert third.code == "invitation_in_use" and "2 devices at a time" in str(third)
        await host.admit(cameras[0].user_id)
        await cameras[0].wait_admitted(10)
        assert (await refused(pool)).code == "invitation_in_use"  # in the call or waiting, all count
        for camera in cameras:
            await camera.close()


@pytest.mark.parametrize(
    ("people", "rule"),
    [
        (["x" * 65], "at most 64 characters"),
        ([f"Aide {i}" for i in range(9)], "at most 8 items"),
        (["Ada", "Lovelace\u202e"], "not U+202E"),
        (["Ada\x07"], "not U+0007"),
    ],
)
async def test_names_too_long_too_many_or_not_printable_are_refused_at_identify(
    parley: ParleyServer, people: list[str], rule: str
) -> None:
    (link,) = summit_links(parley, [("Delegation A", Role.PRINCIPAL)])
    parsed = InviteLink.parse(link)
    async with websockets.connect(parsed.websocket_url) as ws:
        await ws.send(json.dumps({"op": "identify", "d": identify_data(parsed.token, people)}))
        error = json.loads(await ws.recv())
        assert error["op"] == "error" and error["d"]["code"] == "invalid"
        assert "d.people" in error["d"]["message"] and rule in error["d"]["message"]
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await ws.recv()
        assert closed.value.rcvd is not None and closed.value.rcvd.code == CloseCode.NOT_IDENTIFIED
    async with joined(link, "A") as a:  # and the link itself is fine
        assert a.device.people == ["A"]


@pytest.fixture
async def unlimited_parley(tmp_path: Path) -> AsyncIterator[ParleyServer]:
    """A server whose address limits let every test device in (they all come from 127.0.0.1)."""
    rate = (10_000, 60_000.0)
    async with local_server(tmp_path / "parley", connection_rate=rate, identify_rate=rate) as server:
        yield server


async def test_a_lobby_flood_from_many_links_keeps_every_lobby_op_small_and_the_host_connected(
    unlimited_parley: ParleyServer,
) -> None:
    flood = MAX_LOBBY + 5
    seats = [("Delegation A", Role.HOST), *[("Delegation B", Role.PRESS)] * flood]
    host_link, *links = summit_links(unlimited_parley, seats, admission=Admission.HOST)
    lobby_ops: list[int] = []

    def weigh(op: ParleyServerOp) -> None:
        if isinstance(op, LobbyJoinedOp | LobbyLeftOp):  # as the server framed it: the same encoding
            lobby_ops.append(len(encode(op).encode()))

    host = ParleyClient(host_link, ["Host"], on_event=weigh)
    await host.join()
    waiting: list[ParleyClient] = []
    full: list[JoinError] = []

    async def arrive(link: str) -> None:
        device = ParleyClient(link, WIDEST_PEOPLE)
        try:
            await device.join()
            waiting.append(device)
        except JoinError as e:
            full.append(e)

    try:
        for start in range(0, flood, 20):  # in waves, as a crowd arrives
            await asyncio.gather(*(arrive(link) for link in links[start : start + 20]))
        assert len(waiting) == MAX_LOBBY and [e.code for e in full] == ["lobby_full"] * 5
        await until(lambda: len(host.lobby) == MAX_LOBBY, 30, "the host to hear of every waiting device")
        assert len(lobby_ops) == MAX_LOBBY and max(lobby_ops) <= MAX_LOBBY_OP
        assert host.lobby[0].people == WIDEST_PEOPLE
        # The host is still there and still runs the summit.
        assert host.ended is None and not [e for e in host.errors if e.code != ErrorCode.DAVE_LATE_COMMIT]
        admitted = waiting[0]
        await host.admit(admitted.user_id)
        await admitted.wait_admitted(10)
        await until(lambda: admitted.user_id not in [w.user_id for w in host.lobby], 10, "lobby_left")
        assert max(lobby_ops) <= MAX_LOBBY_OP
    finally:
        for device in waiting:
            await device.close()
        await host.close()


async def test_a_burst_of_identifies_or_connections_from_one_address_is_rate_limited(tmp_path: Path) -> None:
    async with local_server(tmp_path / "parley", connection_rate=(10, 6.0), identify_rate=(5, 6.0)) as server:
        (link,) = summit_links(server, [("Delegation A", Role.PRINCIPAL)])
        guessed = link[:-4] + ("AAAA" if not link.endswith("AAAA") else "BBBB")
        # Someone trying tokens: the first five are looked at, then the address must wait.
        codes = [(await refused(guessed)).code for _ in range(8)]
        assert codes == ["invitation_forged"] * 5 + ["rate_limited"] * 3
        parsed = InviteLink.parse(link)
        async with websockets.connect(parsed.websocket_url) as ws:  # the 9th connection
            await ws.send(json.dumps({"op": "identify", "d": identify_data(parsed.token, ["A"])}))
            error = json.loads(await ws.recv())["d"]
            assert error["code"] == "rate_limited" and "too many identifies" in error["message"]
            assert "try again in" in error["message"]
            with pytest.raises(websockets.ConnectionClosed) as closed:
                await ws.recv()
            assert closed.value.rcvd is not None and closed.value.rcvd.code == CloseCode.RATE_LIMITED
        # Connections have their own bucket: the 10th is let in (to be refused at identify)...
        assert (await refused(link)).code == "rate_limited"
        # ...and the 11th is refused before it can say anything.
        async with websockets.connect(parsed.websocket_url) as ws:
            error = json.loads(await ws.recv())["d"]
            assert error["code"] == "rate_limited" and "too many connections" in error["message"]
            with pytest.raises(websockets.ConnectionClosed) as closed:
                await ws.recv()
            assert closed.value.rcvd is not None and closed.value.rcvd.code == CloseCode.RATE_LIMITED
